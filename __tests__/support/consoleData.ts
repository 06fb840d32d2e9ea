/**
 * The known data set the console's browser tests read: a few users of two tenants, a domain event
 * with a diff and a risk score, failed requests, a hostile user agent and path, and enough rows of
 * one user to need a second page. All of it lies in one hour three days ago, so the overview's
 * default week covers it, and a period around that hour holds nothing but these rows (the
 * console's own requests and reads are put on the trail as they happen, now).
 */
import type { Knex } from 'knex';
import type { ActivityEvent } from '../../lib/types';
import { uuidv7 } from '../../lib/util/ids';
import { activity, seed } from './reports';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The hour the rows start in: on the hour, three days before the test file loaded. */
export const KNOWN_START = Math.floor((Date.now() - 3 * DAY) / HOUR) * HOUR;
const at = (minutes: number): number => KNOWN_START + minutes * MINUTE;

/** A period holding every known row and nothing the tests do now. */
export const KNOWN_PERIOD = { startDate: new Date(KNOWN_START - HOUR).toISOString(), endDate: new Date(KNOWN_START + 2 * HOUR).toISOString() };

export const HOSTILE_USER_AGENT = '<img src=x onerror=window.__xss=1>';
export const HOSTILE_PATH = '/search/<script>window.__xss=2</script>';

/** The domain event of the set: an invoice changed by alice, scored as risky. */
export const INVOICE_UPDATE = activity({
  startTime: at(4), userId: 'alice', sessionId: 'sess-alice', tenantId: 'acme', activityType: 'data_update', action: 'invoice.updated',
  method: null, path: null, route: null, statusCode: null, entityType: 'invoice', entityId: 'inv-7', entityName: 'Invoice 7',
  details: { channel: 'email', note: 'sent to the customer' },
  changes: {
    before: { amount: 100, status: 'draft' },
    after: { amount: 120, status: 'sent' },
    diff: [{ path: 'amount', before: 100, after: 120 }, { path: 'status', before: 'draft', after: 'sent' }],
  },
  riskScore: 0.72, riskFactors: ['privileged_action', 'outside_working_hours'], severity: 'high', actorType: 'user',
});

/** The row whose user agent and path are markup: the console must show them as text. */
export const HOSTILE_VISIT = activity({
  startTime: at(30), userId: 'mallory', sessionId: 'sess-mallory', tenantId: 'globex', activityType: 'page_view', action: null,
  entityType: null, entityId: null, method: 'GET', path: HOSTILE_PATH, route: null, userAgent: HOSTILE_USER_AGENT,
});

function knownActivities(): ActivityEvent[] {
  const alice = { userId: 'alice', sessionId: 'sess-alice', tenantId: 'acme' };
  const bob = { userId: 'bob', sessionId: 'sess-bob', tenantId: 'acme' };
  const carol = { userId: 'carol', sessionId: 'sess-carol', tenantId: 'globex' };
  const erin = { userId: 'erin', sessionId: 'sess-erin', tenantId: 'acme' };
  const page = (minutes: number, who: Partial<ActivityEvent>, path: string): ActivityEvent => activity({
    ...who, startTime: at(minutes), activityType: 'page_view', action: null, entityType: null, entityId: null, method: 'GET', path, route: path,
  });
  const login = (minutes: number, ok: boolean): ActivityEvent => activity({
    ...bob, startTime: at(minutes), activityType: ok ? 'login' : 'login_failed', action: ok ? 'authn_login_success' : 'authn_login_fail',
    entityType: null, entityId: null, method: 'POST', path: '/login', route: '/login', statusCode: ok ? 200 : 401, success: ok,
  });
  return [
    page(1, alice, '/dashboard'), page(2, alice, '/dashboard'), page(3, alice, '/invoices'),
    INVOICE_UPDATE,
    login(10, false), login(11, false), login(12, true),
    activity({ ...bob, startTime: at(13), entityId: '11' }), activity({ ...bob, startTime: at(14), entityId: '12' }),
    ...[20, 21, 22, 23].map((m) => activity({ ...carol, startTime: at(m), entityType: 'reports', entityId: String(m), path: `/api/reports/${m}`, route: '/api/reports/:id' })),
    activity({ ...carol, startTime: at(24), activityType: 'error', action: null, path: '/api/reports', route: '/api/reports', statusCode: 500, success: false }),
    HOSTILE_VISIT,
    // 30 downloads: more than the explorer's smallest page (25).
    ...Array.from({ length: 30 }, (_, i) => activity({
      ...erin, startTime: at(40) + i * 1000, activityType: 'file_download', action: 'file.downloaded', entityType: 'files', entityId: `f-${i}`,
      path: `/files/f-${i}`, route: '/files/:id',
    })),
  ];
}

export const KNOWN_ACTIVITIES: readonly ActivityEvent[] = knownActivities();

export async function seedKnownActivities(knex: Knex): Promise<void> {
  await seed(knex, [...KNOWN_ACTIVITIES]);
}

/** What /stats must report of `rows`: counted from the rows themselves, not from the database. */
export function expectedTotals(rows: readonly ActivityEvent[]): { total: number; uniqueUsers: number; uniqueSessions: number; errors: number; errorRate: number } {
  const distinct = (values: Array<string | null | undefined>) => new Set(values.filter((v) => v !== null && v !== undefined)).size;
  const errors = rows.filter((r) => !r.success).length;
  return {
    total: rows.length,
    uniqueUsers: distinct(rows.map((r) => r.userId)),
    uniqueSessions: distinct(rows.map((r) => r.sessionId)),
    errors,
    errorRate: rows.length === 0 ? 0 : errors / rows.length,
  };
}

/** The known rows of one tenant. */
export function rowsOfTenant(tenantId: string): ActivityEvent[] {
  return KNOWN_ACTIVITIES.filter((r) => r.tenantId === tenantId);
}

/**
 * An alert as the alerts job stores it (the tests insert them as alerts.test.ts's table test does,
 * so the console has alerts without running the job's rules); `acknowledgedBy` adds an acknowledgement.
 */
export async function insertAlert(knex: Knex, options: { rule: string; key: string; summary: string; minutes: number; tenantId?: string | null; acknowledgedBy?: string }): Promise<string> {
  const windowStart = at(options.minutes);
  const id = uuidv7(windowStart);
  await knex('activity_alerts').insert({
    id, rule: options.rule, alert_key: options.key, window_start: new Date(windowStart), window_end: new Date(windowStart + 15 * MINUTE),
    severity: 'high', tenant_id: options.tenantId ?? null, count: 5, first_seen: new Date(windowStart), last_seen: new Date(windowStart + 4 * MINUTE),
    summary: options.summary, details: JSON.stringify({ threshold: 5, windowMinutes: 15 }),
  });
  if (options.acknowledgedBy) {
    await knex('activity_alert_acknowledgements').insert({ id: uuidv7(windowStart + MINUTE), alert_id: id, acknowledged_by: options.acknowledgedBy, note: 'Known test traffic' });
  }
  return id;
}

/** The set's two alerts: one open, one already acknowledged. Returns the open one's id. */
export async function insertKnownAlerts(knex: Knex): Promise<{ open: string; acknowledged: string }> {
  const open = await insertAlert(knex, { rule: 'failed_logins_per_account', key: 'bob', summary: '5 failed logins for account bob within 15 minutes', minutes: 10 });
  const acknowledged = await insertAlert(knex, { rule: 'failed_logins_per_ip', key: '203.0.113.7', summary: '5 failed logins from IP 203.0.113.7 within 15 minutes', minutes: 0, acknowledgedBy: 'root' });
  return { open, acknowledged };
}
