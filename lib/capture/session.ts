import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ResolvedConfig } from '../config';
import type { TrackedRequest } from '../types';
import { bearerToken } from '../auth/jwt';
import { randomId128 } from '../util/ids';
import { RecentCache } from '../util/recentCache';
import { sessionMasterKey } from './sessionKey';

const SESSION_ID = /^[0-9a-f]{32}$/;
/** base64url characters of the cookie's HMAC-SHA-256 kept: 132 bits. */
const MAC_CHARS = 22;
/** `<32 hex id>.<mac>` */
const COOKIE_LENGTH = 32 + 1 + MAC_CHARS;
const DAY_MS = 86_400_000;
/** Cookies that verified, so a browser's next requests cost a map lookup instead of an HMAC (about 4 µs). */
const VERIFIED_CACHE = 10_000;
/** Cookie-less clients' fingerprints, for the same reason: a script sends the same IP and user agent all day. */
const FINGERPRINT_CACHE = 10_000;
/** Longer IP + user agent pairs are hashed every time rather than pinned in the cache. */
const MAX_FINGERPRINT_KEY = 1024;

/** What the session resolver reads and notes at the start of a request (the middleware's RequestStart). */
export interface SessionStart {
  ip: string | null;
  userAgent: string | null;
  startedAt: number;
  sessionId: string;
  /** The keyed hash of IP and user agent, when the session came from it; null otherwise. */
  fingerprint: string | null;
}

/**
 * Gives every request a session id, so that a browser's requests, an API client's requests and a
 * cookie-less script's requests each form one session:
 * 1. express-session's `req.sessionID`, once that session is real (its cookie came in or goes out;
 *    with `saveUninitialized: false` every signed-out request gets a throwaway id), hashed: it is a
 *    credential;
 * 2. the package's own cookie, a random 128-bit id followed by its HMAC under a key only the
 *    server knows: a cookie the server did not issue (another user's session id, guessed or seen)
 *    does not verify and is ignored, as if there were none;
 * 3. a bearer token (hashed: one token, one session);
 * 4. otherwise a keyed hash of IP and user agent, with a salt that rotates daily, maps to the random
 *    id issued to that client, so that a loop of cookie-less requests is one session. The first
 *    user seen on it owns it; another user behind the same address and user agent (an office
 *    behind one NAT, a shared script) gets a session of their own.
 */
export class SessionResolver {
  private readonly key: Buffer;
  private readonly cookieKey: Buffer;
  private readonly verified = new RecentCache<string, string>(VERIFIED_CACHE);
  private readonly issued: RecentCache<string, { id: string; lastSeen: number; userId?: string; cookie?: string }>;
  /** `ip \n user agent` → fingerprint under the current salt; emptied when the salt rotates. */
  private readonly fingerprints = new RecentCache<string, string>(FINGERPRINT_CACHE);
  private salt = { day: -1, value: Buffer.alloc(0) };
  private readonly timeoutMs: number;

  constructor(private readonly config: Pick<ResolvedConfig, 'sessionCookie' | 'sessionSecret' | 'sessionTimeoutMinutes' | 'dataDir' | 'logger'>) {
    // Without a cookie nothing outlives the process, so no key file is needed.
    this.key = config.sessionCookie ? sessionMasterKey(config) : config.sessionSecret ? Buffer.from(config.sessionSecret) : randomBytes(32);
    this.cookieKey = createHmac('sha256', this.key).update('activity-tracking session cookie v1').digest();
    this.issued = new RecentCache(50_000);
    this.timeoutMs = config.sessionTimeoutMinutes * 60_000;
  }

  /**
   * Decided when the request starts; may set the session cookie on the response. Notes on `start`
   * the fingerprint the session came from, if it did, for atEnd.
   */
  atStart(req: TrackedRequest, res: ServerResponse, start: SessionStart): string {
    const cookieName = this.config.sessionCookie ? this.config.sessionCookie.name : null;
    const headers = req.headers;
    if (cookieName !== null) {
      const fromCookie = readCookie(headers.cookie, cookieName);
      const id = fromCookie === null ? null : this.verifiedId(fromCookie);
      if (id !== null) return id;
    }
    const token = bearerToken(headers.authorization);
    if (token !== null) return sha256(token);
    const now = start.startedAt;
    const fingerprint = this.fingerprint(`${start.ip ?? ''}\n${start.userAgent ?? ''}`, now);
    start.fingerprint = fingerprint;
    const issued = this.issuedFor(fingerprint, now);
    if (cookieName !== null && !res.headersSent) {
      const secure = req.secure === true ? '; Secure' : '';
      // Signed once per session id, not once per request: a cookie-less client asks for it every time.
      issued.cookie ??= `${issued.id}.${this.mac(issued.id)}`;
      appendSetCookie(res, `${cookieName}=${issued.cookie}; Path=/; HttpOnly; SameSite=Lax${secure}`);
    }
    return issued.id;
  }

  /** The session id of a cookie this server signed; null for anything else. */
  private verifiedId(cookie: string): string | null {
    if (cookie.length !== COOKIE_LENGTH || cookie.charCodeAt(32) !== 0x2e) return null;
    const known = this.verified.get(cookie);
    if (known !== undefined) return known;
    const id = cookie.slice(0, 32);
    if (!SESSION_ID.test(id)) return null;
    const expected = Buffer.from(this.mac(id));
    const given = Buffer.from(cookie.slice(33));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    // Only a cookie that verified is kept: a forged one cannot enter the cache, only miss it.
    this.verified.set(cookie, id);
    return id;
  }

  private mac(id: string): string {
    return createHmac('sha256', this.cookieKey).update(id).digest('base64url').slice(0, MAC_CHARS);
  }

  /**
   * express-session may be mounted after the tracker; its id wins once the session is real. A
   * session that came from the client's fingerprint is kept for the first user seen on it.
   */
  atEnd(req: TrackedRequest, res: ServerResponse | null, start: SessionStart, userId: string | null = null): string {
    const sid = req.sessionID;
    if (typeof sid === 'string' && sid !== '' && isPersistedSession(sid, req, res)) return sha256(sid);
    if (userId === null || start.fingerprint === null) return start.sessionId;
    return this.idForUser(start.fingerprint, start.sessionId, userId, Date.now());
  }

  /** The keyed hash of a client's IP and user agent under the day's salt, computed once per client and day. */
  private fingerprint(client: string, now: number): string {
    const salt = this.saltFor(now);
    const cacheable = client.length <= MAX_FINGERPRINT_KEY;
    const known = cacheable ? this.fingerprints.get(client) : undefined;
    if (known !== undefined) return known;
    const fingerprint = createHmac('sha256', salt).update(client).digest('base64');
    if (cacheable) this.fingerprints.set(client, fingerprint);
    return fingerprint;
  }

  private issuedFor(key: string, now: number): { id: string; lastSeen: number; userId?: string; cookie?: string } {
    const known = this.issued.get(key);
    if (known && now - known.lastSeen < this.timeoutMs) {
      known.lastSeen = now;
      return known;
    }
    const fresh = { id: randomId128(), lastSeen: now };
    this.issued.set(key, fresh);
    return fresh;
  }

  private idForUser(fingerprint: string, startId: string, userId: string, now: number): string {
    const shared = this.issued.get(fingerprint);
    if (!shared || shared.id !== startId) return startId;
    shared.userId ??= userId;
    return shared.userId === userId ? startId : this.issuedFor(`${fingerprint}\n${userId}`, now).id;
  }

  private saltFor(now: number): Buffer {
    const day = Math.floor(now / DAY_MS);
    if (day !== this.salt.day) {
      this.salt = { day, value: createHmac('sha256', this.key).update(`salt:${day}`).digest() };
      this.fingerprints.clear();
    }
    return this.salt.value;
  }
}

/**
 * express-session always signs its cookie as `s:<id>.<signature>`, URL-encoded; finding that in the
 * request's cookies or the response's Set-Cookie proves the id outlives this request, whatever the
 * cookie's name.
 */
function isPersistedSession(sid: string, req: TrackedRequest, res: ServerResponse | null): boolean {
  const signed = `s%3A${encodeURIComponent(sid)}.`;
  if (req.headers.cookie?.includes(signed)) return true;
  const setCookie = res?.getHeader('set-cookie');
  if (setCookie === undefined) return false;
  return Array.isArray(setCookie) ? setCookie.some((c) => c.includes(signed)) : String(setCookie).includes(signed);
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}

/** One cookie's value, found by scanning rather than splitting the whole header on every request. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  let from = 0;
  while (from < header.length) {
    const at = header.indexOf(name, from);
    if (at === -1) return null;
    const before = at === 0 ? ';' : header[at - 1];
    if ((before === ';' || before === ' ') && header[at + name.length] === '=') {
      const end = header.indexOf(';', at);
      return header.slice(at + name.length + 1, end === -1 ? undefined : end).trim();
    }
    from = at + name.length;
  }
  return null;
}

function appendSetCookie(res: ServerResponse, cookie: string): void {
  const existing = res.getHeader('set-cookie');
  if (existing === undefined) res.setHeader('set-cookie', cookie);
  else res.setHeader('set-cookie', Array.isArray(existing) ? [...existing, cookie] : [String(existing), cookie]);
}
