import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Alert, Logger } from '../types';
import type { ResolvedWebhook } from './settings';
import { messageOf } from '../util/messageOf';

export const SIGNATURE_HEADER = 'X-Activity-Signature';
export const TIMESTAMP_HEADER = 'X-Activity-Timestamp';
/** Longest wait between two attempts, however many there are. */
const MAX_RETRY_DELAY_MS = 10 * 60_000;

/** `sha256=<hex HMAC-SHA256 of the raw body with the secret>`: the X-Activity-Signature value. */
export function signWebhookBody(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** For receivers: whether `signature` (the header's value) signs the raw `body` with `secret`; compared in constant time. */
export function verifyWebhookSignature(body: string | Buffer, signature: string | undefined, secret: string): boolean {
  if (typeof signature !== 'string') return false;
  const expected = Buffer.from(signWebhookBody(body, secret));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Delivers alerts to the webhook, each on its own: a POST that is not answered 2xx within
 * `timeoutMs` is tried again after `retryDelayMs`, doubling, up to `maxAttempts` attempts; the
 * last failure is logged. Nothing waits on a delivery: `send` returns at once, and the retry
 * timers never keep the process alive. `stop()` abandons what is still pending, and logs it.
 */
export class WebhookSender {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<AbortController>();
  private readonly pending = new Set<string>();
  private stopped = false;

  /** The URL as logged: without credentials or query, which may hold secrets. */
  private readonly where: string;

  constructor(private readonly webhook: ResolvedWebhook, private readonly logger: Logger) {
    const url = new URL(webhook.url);
    this.where = `${url.origin}${url.pathname}`;
  }

  send(alert: Alert): void {
    if (this.stopped) return;
    this.pending.add(alert.id);
    this.attempt(alert, 1);
  }

  /** Deliveries not finished yet (waiting or in flight). */
  pendingCount(): number {
    return this.pending.size;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const controller of this.inFlight) controller.abort();
    if (this.pending.size > 0) {
      this.logger.warn('Alert webhook deliveries were abandoned as the tracker closed', { alerts: [...this.pending], url: this.where });
    }
  }

  private attempt(alert: Alert, attempt: number): void {
    if (this.stopped) return;
    const sentAt = new Date();
    const body = JSON.stringify({ event: 'alert', sentAt: sentAt.toISOString(), alert });
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), this.webhook.timeoutMs);
    timeout.unref();
    this.inFlight.add(controller);
    fetch(this.webhook.url, {
      method: 'POST',
      body,
      signal: controller.signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'express-activity-tracking',
        [SIGNATURE_HEADER]: signWebhookBody(body, this.webhook.secret),
        [TIMESTAMP_HEADER]: String(Math.floor(sentAt.getTime() / 1000)),
        'X-Activity-Event': 'alert',
        'X-Activity-Delivery': alert.id,
        'X-Activity-Attempt': String(attempt),
      },
    }).then(async (response) => {
      // Drain the body so the connection is freed.
      await response.arrayBuffer().catch(() => undefined);
      return response.ok ? null : `HTTP ${response.status}`;
    }, (error: unknown) => messageOf(error))
      .then((failure) => {
        clearTimeout(timeout);
        this.inFlight.delete(controller);
        if (this.stopped) return;
        if (failure === null) {
          this.pending.delete(alert.id);
          return;
        }
        if (attempt >= this.webhook.maxAttempts) {
          this.pending.delete(alert.id);
          this.logger.error(`Alert webhook delivery failed after ${attempt} attempt(s); the alert stays in activity_alerts (GET /alerts)`, { alertId: alert.id, rule: alert.rule, url: this.where, error: failure });
          return;
        }
        const delay = Math.min(MAX_RETRY_DELAY_MS, this.webhook.retryDelayMs * 2 ** (attempt - 1));
        this.logger.warn(`Alert webhook delivery failed; trying again in ${delay} ms`, { alertId: alert.id, attempt, error: failure });
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.attempt(alert, attempt + 1);
        }, delay);
        timer.unref();
        this.timers.add(timer);
      })
      .catch((error: unknown) => {
        this.logger.error('Alert webhook delivery failed unexpectedly', { alertId: alert.id, error: messageOf(error) });
      });
  }
}
