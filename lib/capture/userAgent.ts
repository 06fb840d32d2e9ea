import UAParser from 'ua-parser-js';
import type { DeviceInfo } from '../types';
import { RecentCache } from '../util/recentCache';

export interface ParsedUserAgent {
  browser: string | null;
  operatingSystem: string | null;
  deviceInfo: DeviceInfo;
  /**
   * The user agent as stored, sanitized by the first request that stored it: the parser belongs to
   * one tracker, hence to one sanitizer, so the same string always gives the same text.
   */
  storedText?: string;
}

/** HTTP clients that ua-parser-js does not name: scripts, CLIs and libraries. */
const HTTP_CLIENTS = /^(curl|wget|httpie|python-requests|python-urllib|aiohttp|go-http-client|okhttp|postmanruntime|insomnia|axios|node-fetch|undici|node|got|java|apache-httpclient|libwww-perl|ruby|php|guzzlehttp|dart|powershell|k6|artillery|autocannon|hey|ab|apachebench|restsharp)[/ ]?([\w.-]*)/i;
const BOTS = /bot|crawl|spider|slurp|facebookexternalhit|headlesschrome|lighthouse|monitor|pingdom|uptime/i;
/** Longest user agent kept, parsed or stored. */
export const MAX_USER_AGENT_LENGTH = 512;

/** Parses user agents once each: the same few strings repeat across nearly every request. */
export class UserAgentParser {
  private readonly cache: RecentCache<string, ParsedUserAgent>;

  constructor(capacity = 1000) {
    this.cache = new RecentCache(capacity);
  }

  parse(userAgent: string | null): ParsedUserAgent {
    const key = userAgent === null ? '' : userAgent.slice(0, MAX_USER_AGENT_LENGTH);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const parsed = parseUncached(key);
    // Shared by every request with this user agent, so never changed: frozen, the write path
    // serializes it once (lib/integrity/canonicalJson.ts keeps the text of frozen objects).
    Object.freeze(parsed.deviceInfo);
    this.cache.set(key, parsed);
    return parsed;
  }
}

function parseUncached(userAgent: string): ParsedUserAgent {
  if (userAgent === '') return { browser: null, operatingSystem: null, deviceInfo: { type: 'unknown', vendor: null, model: null } };
  const client = HTTP_CLIENTS.exec(userAgent);
  if (client) {
    const name = client[1] ?? 'client';
    return {
      browser: client[2] ? `${name} ${client[2]}` : name,
      operatingSystem: null,
      deviceInfo: { type: 'cli', vendor: null, model: null },
    };
  }
  const result = new UAParser(userAgent).getResult();
  const browser = result.browser.name ? joinVersion(result.browser.name, result.browser.version) : null;
  const operatingSystem = result.os.name ? joinVersion(result.os.name, result.os.version) : null;
  let type = result.device.type ?? null;
  if (BOTS.test(userAgent)) type = 'bot';
  else if (type === null) type = browser || operatingSystem ? 'desktop' : 'unknown';
  return {
    browser,
    operatingSystem,
    deviceInfo: { type, vendor: result.device.vendor ?? null, model: result.device.model ?? null },
  };
}

function joinVersion(name: string, version: string | undefined): string {
  return version ? `${name} ${version}` : name;
}
