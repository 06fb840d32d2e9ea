import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import jwt from 'jsonwebtoken';
import request, { type Response } from 'supertest';
import type { Knex } from 'knex';
import { createActivityTracker, type ActivityTracker } from '../../lib/tracker';
import type { ActivityEvent } from '../../lib/types';
import { KnexActivityStore } from '../../lib/store/activityStore';
import { uuidv7 } from '../../lib/util/ids';
import type { ExpressFactory } from './app';

/** The HS256 secret the report-route tests sign tokens with. */
export const REPORT_SECRET = 'report-routes-test-secret-0123456789';
export const MOUNT = '/api/activity-tracking';

/** A signed, expiring token for `sub` with `role`; `extra` adds or overrides claims. */
export function tokenFor(sub: string, role: string, extra: Record<string, unknown> = {}, secret = REPORT_SECRET): string {
  return jwt.sign({ sub, role, ...extra }, secret, { algorithm: 'HS256', expiresIn: '10m' });
}

export function bearer(sub: string, role: string): { Authorization: string } {
  return { Authorization: `Bearer ${tokenFor(sub, role)}` };
}

/** An app with the capture middleware and the report router mounted as the README shows. */
export function reportApp(express: ExpressFactory, tracker: ActivityTracker, options: { capture?: boolean } = {}): ReturnType<ExpressFactory> {
  const app = express();
  if (options.capture ?? true) app.use(tracker.middleware());
  app.use(MOUNT, tracker.router());
  return app;
}

/** A stored activity with sensible defaults; times are epoch milliseconds. */
export function activity(overrides: Partial<ActivityEvent> = {}): ActivityEvent {
  const startTime = overrides.startTime ?? Date.UTC(2026, 10, 20, 10, 0, 0);
  return {
    id: uuidv7(startTime), userId: 'alice', sessionId: 'sess-a', activityType: 'data_view', entityType: 'items', entityId: '1', action: 'read',
    details: null, ipAddress: '203.0.113.7', userAgent: 'Mozilla/5.0 Chrome/126.0.0.0', browser: 'Chrome 126.0.0.0', operatingSystem: 'Windows 10',
    deviceInfo: { type: 'desktop', vendor: null, model: null }, location: { country: 'US', region: 'CA', city: 'Los Angeles', timezone: 'America/Los_Angeles' },
    duration: 10, startTime, endTime: startTime + (overrides.duration ?? 10), method: 'GET', path: '/api/items/1', route: '/api/items/:id', statusCode: 200, success: true,
    requestSize: null, responseSize: 100, ...overrides,
  };
}

/**
 * Stores known activities through the package's own write path, as an import does: their sessions
 * are updated, but no session_start or session_end rows are added, so the known rows are all there is.
 */
export async function seed(knex: Knex, events: ActivityEvent[]): Promise<void> {
  const store = new KnexActivityStore(knex, { sessionEvents: false });
  for (let i = 0; i < events.length; i += 500) await store.writeBatch(events.slice(i, i + 500));
}

/**
 * GETs `url` (under the mount point or absolute) as an admin through a router without the capture
 * middleware, and returns the response and every read of the package's tables that it caused: a
 * refused parameter must cause none.
 */
export async function getCountingReads(knex: Knex, express: ExpressFactory, url: string): Promise<{ response: Response; reads: string[] }> {
  const tracker = createActivityTracker({ database: knex, flushIntervalMs: 5, jwtSecret: REPORT_SECRET, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  await tracker.ready();
  const reads: string[] = [];
  const listen = (q: { sql: string }): void => {
    if (/user_activity|activity_sessions|activity_summaries/.test(q.sql)) reads.push(q.sql);
  };
  knex.on('query', listen);
  try {
    const response = await request(reportApp(express, tracker, { capture: false })).get(url.startsWith(MOUNT) ? url : `${MOUNT}${url}`).set(bearer('a', 'admin'));
    return { response, reads };
  } finally {
    knex.removeListener('query', listen);
    await tracker.close();
  }
}

/**
 * Validates response bodies against the schema the served OpenAPI document gives for a path's GET,
 * by status.
 */
export async function openApiValidator(app: Parameters<typeof request>[0]): Promise<(path: string, status: number, body: unknown) => string[]> {
  const doc = (await request(app).get(`${MOUNT}/openapi.json`).expect(200)).body as Record<string, unknown>;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...doc, $id: 'openapi' });
  return (path, status, body) => {
    const pointer = `openapi#/paths/${path.replace(/~/g, '~0').replace(/\//g, '~1')}/get/responses/${status}/content/application~1json/schema`;
    const validate = ajv.compile({ $ref: pointer });
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
  };
}
