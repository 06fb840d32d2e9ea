/** Where alerts are POSTed: the webhook options, their defaults and their checks. */
import type { ResolvedWebhook } from './settings';
import { checkInteger, checkKnownKeys, HIDDEN, invalid, isPlainObject, redactUrl } from '../util/optionChecks';

/**
 * Where each new alert is POSTed as JSON, signed: `X-Activity-Signature: sha256=<hex HMAC-SHA256 of
 * the raw body with secret>`, with `X-Activity-Timestamp` (Unix seconds, also in the body as
 * `sentAt`). A non-2xx answer, a network error or no answer in `timeoutMs` is retried up to
 * `maxAttempts` attempts in all, waiting `retryDelayMs` doubled after each.
 */
export interface AlertWebhookOptions {
  /** An http:// or https:// URL, without credentials. */
  url: string;
  /** 16+ random characters the receiver checks `X-Activity-Signature` with. */
  secret: string;
  /**
   * Attempts per alert in all, the first included.
   * @default 5
   */
  maxAttempts?: number;
  /**
   * Milliseconds before the second attempt, doubled before each further one.
   * @default 1000
   */
  retryDelayMs?: number;
  /**
   * Milliseconds an attempt waits for an answer.
   * @default 10000
   */
  timeoutMs?: number;
}

export const WEBHOOK_DEFAULTS = {
  maxAttempts: 5,
  retryDelayMs: 1000,
  timeoutMs: 10_000,
} as const satisfies { [K in keyof AlertWebhookOptions]?: unknown };

const WEBHOOK_KEYS = { url: true, secret: true, maxAttempts: true, retryDelayMs: true, timeoutMs: true } as const satisfies Record<keyof AlertWebhookOptions, true>;
const WEBHOOK_RANGES = { maxAttempts: [1, 20], retryDelayMs: [1, 3_600_000], timeoutMs: [100, 300_000] } as const;

/** The `alerts.webhook` option resolved; null when there is none. */
export function resolveWebhook(value: unknown): ResolvedWebhook | null {
  if (value === undefined) return null;
  if (!isPlainObject(value)) throw invalid('alerts.webhook', value, "pass an object such as { url: 'https://hooks.example.com/activity', secret: '<random, 32+ characters>' }");
  checkKnownKeys(value, Object.keys(WEBHOOK_KEYS), 'alerts.webhook');
  const { url, secret } = value;
  let parsed: URL | null = null;
  try { parsed = typeof url === 'string' ? new URL(url) : null; } catch { parsed = null; }
  if (parsed === null || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw invalid('alerts.webhook.url', typeof url === 'string' ? redactUrl(url) : url, 'use an http:// or https:// URL');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw invalid('alerts.webhook.url', redactUrl(url as string), 'leave credentials out of the URL: the receiver authenticates deliveries by their X-Activity-Signature, made with alerts.webhook.secret');
  }
  if (typeof secret !== 'string' || secret.length < 16) throw invalid('alerts.webhook.secret', HIDDEN, 'use a random secret of at least 16 characters (32 or more recommended); the receiver checks X-Activity-Signature with it');
  const webhook: ResolvedWebhook = { url: parsed.toString(), secret, ...WEBHOOK_DEFAULTS };
  for (const key of ['maxAttempts', 'retryDelayMs', 'timeoutMs'] as const) {
    if (value[key] === undefined) continue;
    checkInteger(`alerts.webhook.${key}`, value[key], WEBHOOK_RANGES[key][0], WEBHOOK_RANGES[key][1]);
    webhook[key] = value[key] as number;
  }
  return webhook;
}
