import express from 'express';
import { seededRandom } from '../bench/bigDataRows';
import request from 'supertest';
import { testTracker } from './support/app';
import { openTestDatabase, type TestDatabase } from './support/database';
import { activity, MOUNT, REPORT_SECRET, reportApp, seed, tokenFor } from './support/reports';
import type { ActivityTracker } from '../lib/tracker';
import type { ActivityEvent, ActivityType, ActorType } from '../lib/types';
import { activityStats, userSummary } from '../lib/store/reports/stats';
import { complianceFigures } from '../lib/store/reports/compliance';
import { EVERY_TENANT, tenantOnly, type TenantScope } from '../lib/store/reports/tenantScope';
import { rollUpClosedDays } from '../lib/jobs/rollups';
import { removeExpiredActivity } from '../lib/jobs/retention';

/**
 * The rollups change how GET /stats, GET /compliance-report and GET /me/summary read a long period,
 * never what they answer: each answer through the router equals the same report read by scanning
 * every row (rollups: false), before and after late rows, merges and retention.
 */
let db: TestDatabase;
let tracker: ActivityTracker;

const DAY_MS = 86_400_000;
const FIRST_DAY = Date.UTC(2026, 9, 10);
const DAYS = 40;
/** The rollups job runs "now": every day of the trail (2026-10-10 to 2026-11-18) is closed. */
const NOW = new Date(Date.UTC(2026, 10, 19, 12));
const RETENTION_DAYS = 36_500;

/** The bench's mulberry32: the same trail on every run. */
const random = seededRandom;

const TYPES: ActivityType[] = ['data_view', 'data_view', 'page_view', 'page_view', 'login', 'logout', 'login_failed', 'login_failed', 'data_update', 'data_delete', 'asset', 'asset', 'audit_read', 'token_refresh'];
const USERS = ['u1', 'u2', 'u3', 'u4', 'u5', null];
const TENANTS = ['t1', 't1', 't2', null];
const OWNERS = ['t1', 't2', 'o3', null, null];
const PATHS = ['/a', '/b', '/c', '/d', null];
const BROWSERS = ['Chrome 126', 'Firefox 128', null];
const SYSTEMS = ['Linux', 'Windows 10', null];
const DEVICES = [{ type: 'desktop', vendor: null, model: null }, { type: 'mobile', vendor: 'Apple', model: 'iPhone' }, null];
const COUNTRIES = ['US', 'DE', 'FR', null];
const ACTIONS = ['read', 'approve', 'reject', null];
const ACTORS: Array<ActorType | null> = ['user', 'admin', null];
const IPS = ['203.0.113.7', '198.51.100.9', '192.0.2.1', null];
/** Halves and quarters: sums of them are exact in double precision, so totals compare exactly. */
const DURATIONS = [10, 12.5, 7.25, 100, null, 3];

function trailRows(from: number, days: number, perDay: number, seedValue: number): ActivityEvent[] {
  const next = random(seedValue);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const rows: ActivityEvent[] = [];
  for (let day = 0; day < days; day += 1) {
    for (let i = 0; i < perDay; i += 1) {
      // Some rows exactly at midnight, the edge of two days.
      const startTime = i === 0 ? from + day * DAY_MS : from + day * DAY_MS + Math.floor(next() * DAY_MS);
      const type = pick(TYPES);
      const user = pick(USERS);
      const statusCode = pick([200, 200, 200, 404, 500]);
      const country = pick(COUNTRIES);
      const role = pick([null, null, 'admin', 'system_admin', 'user']);
      rows.push(activity({
        startTime, activityType: type, userId: user, sessionId: user === null ? pick(['anon-1', 'anon-2', null]) : `${user}-s${Math.floor(next() * 3)}`,
        tenantId: pick(TENANTS), ownerId: pick(OWNERS), path: pick(PATHS), duration: pick(DURATIONS), statusCode, success: statusCode < 400,
        browser: pick(BROWSERS), operatingSystem: pick(SYSTEMS), deviceInfo: pick(DEVICES),
        location: country === null ? null : { country, region: null, city: null, timezone: null },
        action: pick(ACTIONS), actorType: pick(ACTORS), ipAddress: pick(IPS),
        details: role === null ? null : next() < 0.5 ? { custom: { role } } : { role },
      }));
    }
  }
  return rows.sort((a, b) => a.startTime - b.startTime);
}

const iso = (time: number): string => new Date(time).toISOString();
const PERIODS: Array<[string, string, string]> = [
  ['whole days', iso(Date.UTC(2026, 9, 15)), iso(Date.UTC(2026, 9, 25) - 1)],
  ['partial days at both ends', iso(Date.UTC(2026, 9, 12, 5, 17)), iso(Date.UTC(2026, 10, 3, 18, 42, 30, 500))],
  ['one day', iso(Date.UTC(2026, 10, 1)), iso(Date.UTC(2026, 10, 2) - 1)],
  ['one day and the next midnight', iso(Date.UTC(2026, 10, 1)), iso(Date.UTC(2026, 10, 2))],
  ['24 hours not aligned', iso(Date.UTC(2026, 10, 5, 7)), iso(Date.UTC(2026, 10, 6, 7))],
  ['48 hours around one whole day', iso(Date.UTC(2026, 10, 7, 13)), iso(Date.UTC(2026, 10, 9, 13))],
  ['30 days', iso(Date.UTC(2026, 9, 19, 12)), iso(Date.UTC(2026, 10, 18, 12))],
  ['the whole trail and days without rows', iso(Date.UTC(2026, 9, 1)), iso(NOW.getTime())],
  ['the last 24 hours, today read from its closed hours', iso(NOW.getTime() - DAY_MS + 1_234), iso(NOW.getTime() - 1_000)],
  ['some minutes', iso(Date.UTC(2026, 10, 3, 10, 5)), iso(Date.UTC(2026, 10, 3, 10, 55))],
];
const SCOPES: Array<[string, TenantScope]> = [['every tenant', EVERY_TENANT], ['tenant t1', tenantOnly('t1')], ['tenant t2', tenantOnly('t2')], ['tenant o3', tenantOnly('o3')]];

const app = () => reportApp(express, tracker, { capture: false });
const tokenOf = (scope: TenantScope, user = 'auditor-1', role = 'auditor'): string => tokenFor(user, role, scope.tenantId === null ? {} : { tenantId: scope.tenantId });
const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Every report of every period and scope, through the router, against the same report scanning every row. */
async function expectRollupsToMatchScans(): Promise<void> {
  for (const [periodName, startDate, endDate] of PERIODS) {
    const period = { startDate: new Date(startDate), endDate: new Date(endDate) };
    const query = `startDate=${encodeURIComponent(startDate)}&endDate=${encodeURIComponent(endDate)}`;
    for (const [scopeName, scope] of SCOPES) {
      const label = `${periodName}, ${scopeName}`;
      const stats = await request(app()).get(`${MOUNT}/stats?${query}`).set('Authorization', `Bearer ${tokenOf(scope)}`).expect(200);
      expect([label, stats.body.data]).toEqual([label, json(await activityStats(db.knex, scope, period, { rollups: false }))]);
      const compliance = await request(app()).get(`${MOUNT}/compliance-report?${query}`).set('Authorization', `Bearer ${tokenOf(scope)}`).expect(200);
      const { oldestRecord, ...figures } = await complianceFigures(db.knex, scope, period, { rollups: false });
      const { period: _p, generatedAt: _g, retention, ...reported } = compliance.body.data as Record<string, unknown>;
      expect([label, reported]).toEqual([label, json(figures)]);
      expect(retention).toEqual({ retentionDays: RETENTION_DAYS, oldestRecord });
    }
    for (const user of ['u1', 'u4']) {
      const summary = await request(app()).get(`${MOUNT}/me/summary?${query}`).set('Authorization', `Bearer ${tokenFor(user, 'user')}`).expect(200);
      const { userId: _u, period: _q, ...reported } = summary.body.data as Record<string, unknown>;
      expect([periodName, user, reported]).toEqual([periodName, user, json(await userSummary(db.knex, user, period, { rollups: false }))]);
    }
  }
}

const count = async (sql: string, bindings: unknown[] = []): Promise<number> => Number(((await db.knex.raw(sql, bindings as never)) as { rows: Array<{ n: unknown }> }).rows[0]!.n);

beforeAll(async () => {
  db = await openTestDatabase();
  tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, flushIntervalMs: 60_000, jobs: false, retentionDays: RETENTION_DAYS });
  // 40 closed days, then today (2026-11-19) up to NOW: the job builds its closed hours.
  await seed(db.knex, [...trailRows(FIRST_DAY, DAYS, 30, 7), ...trailRows(Date.UTC(2026, 10, 19), 1, 60, 8).filter((row) => row.startTime < NOW.getTime())]);
});
afterAll(async () => {
  await tracker.close();
  await db.destroy();
});

describe('daily rollups for long report periods', () => {
  it('builds every closed day once, and the reports read them with the same answers as a scan', async () => {
    const first = await rollUpClosedDays(db.knex, { retentionDays: RETENTION_DAYS, now: NOW });
    expect(first.built).toHaveLength(DAYS);
    expect(first.built[0]).toBe('2026-11-18');
    expect(first.builtHours).toBe(12);
    expect(await count('select count(*) as n from activity_rollup_hours')).toBe(DAYS * 24 + 12);
    expect(await rollUpClosedDays(db.knex, { retentionDays: RETENTION_DAYS, now: NOW })).toEqual({ built: [], builtHours: 0, merged: 0 });
    await expectRollupsToMatchScans();
  });

  it('reads from the rollups: their counts are what the rows say, so a report that used them is told by its numbers', async () => {
    // Double one built day's rollups behind the reports' back: the answer changes, so it came from them.
    const day = '2026-11-01';
    const query = `startDate=${day}T00:00:00.000Z&endDate=${day}T23:59:59.999Z`;
    const expected = await count(`select count(*) as n from user_activity where activity_type <> 'asset' and start_time >= ? and start_time < ?`, [`${day}T00:00:00Z`, `${day}T23:59:59.999Z`]);
    const before = await request(app()).get(`${MOUNT}/stats?${query}`).set('Authorization', `Bearer ${tokenOf(EVERY_TENANT)}`).expect(200);
    expect(before.body.data.totalActivities).toBe(expected);
    const t1 = await request(app()).get(`${MOUNT}/stats?${query}`).set('Authorization', `Bearer ${tokenOf(tenantOnly('t1'))}`).expect(200);
    expect(t1.body.data.uniqueUsers).toBe(await count(`select count(distinct user_id) as n from user_activity where activity_type <> 'asset' and (tenant_id = 't1' or owner_id = 't1') and start_time >= ? and start_time <= ?`, [`${day}T00:00:00Z`, `${day}T23:59:59.999Z`]));
    await db.knex.raw(`update activity_daily_rollups set count = count * 2 where day = ? and dimension = 'type'`, [day]);
    try {
      const doubled = await request(app()).get(`${MOUNT}/stats?${query}`).set('Authorization', `Bearer ${tokenOf(EVERY_TENANT)}`).expect(200);
      expect(doubled.body.data.totalActivities).toBe(2 * expected);
    } finally {
      await db.knex.raw(`update activity_daily_rollups set count = count / 2 where day = ? and dimension = 'type'`, [day]);
    }
  });

  it('reads the closed hours of today from the hourly rollups', async () => {
    const query = `startDate=2026-11-19T03:00:00.000Z&endDate=2026-11-19T04:59:59.999Z`;
    const expected = await count(`select count(*) as n from user_activity where activity_type <> 'asset' and start_time >= '2026-11-19T03:00:00Z' and start_time < '2026-11-19T05:00:00Z'`);
    expect(expected).toBeGreaterThan(0);
    const before = await request(app()).get(`${MOUNT}/stats?${query}`).set('Authorization', `Bearer ${tokenOf(EVERY_TENANT)}`).expect(200);
    expect(before.body.data.totalActivities).toBe(expected);
    await db.knex.raw(`update activity_hourly_rollups set count = count * 2 where hour >= '2026-11-19T03:00:00Z' and hour < '2026-11-19T05:00:00Z' and dimension = 'type'`);
    try {
      const doubled = await request(app()).get(`${MOUNT}/stats?${query}`).set('Authorization', `Bearer ${tokenOf(EVERY_TENANT)}`).expect(200);
      expect(doubled.body.data.totalActivities).toBe(2 * expected);
    } finally {
      await db.knex.raw(`update activity_hourly_rollups set count = count / 2 where hour >= '2026-11-19T03:00:00Z' and hour < '2026-11-19T05:00:00Z' and dimension = 'type'`);
    }
  });

  it('stays equal with rows stored late for built days, before and after the job merges them', async () => {
    const positionBefore = await count('select max(chain_position) as n from user_activity');
    // A journal replay after an outage: rows of past days, stored after their days were built.
    await seed(db.knex, [...trailRows(Date.UTC(2026, 9, 20), 5, 12, 11), ...trailRows(Date.UTC(2026, 10, 19), 1, 24, 12).filter((row) => row.startTime < Date.UTC(2026, 10, 19, 9))]);
    await expectRollupsToMatchScans();
    const merged = await rollUpClosedDays(db.knex, { retentionDays: RETENTION_DAYS, now: NOW });
    expect(merged.built).toEqual([]);
    expect(merged.builtHours).toBe(0);
    expect(merged.merged).toBeGreaterThan(0);
    expect(await count('select min(built_through_position) as n from activity_rollup_days')).toBe(await count('select max(chain_position) as n from user_activity'));
    expect(await count('select min(built_through_position) as n from activity_rollup_hours')).toBe(await count('select max(chain_position) as n from user_activity'));
    expect(await count('select max(chain_position) as n from user_activity')).toBeGreaterThan(positionBefore + 60);
    await expectRollupsToMatchScans();
  });

  it('stays equal after retention removes old rows: the days that lost rows are read from the rows again', async () => {
    // Keep 30 days back from 2026-11-19 12:00: rows before 2026-10-20 12:00 go (those stored late stay: the prefix stops at them).
    const removed = await removeExpiredActivity(db.knex, { retentionDays: 30, job: 'retention-job', now: NOW });
    expect(removed.removed).toBeGreaterThan(0);
    const days = ((await db.knex.raw(`select to_char(day, 'YYYY-MM-DD') as day from activity_rollup_days`)) as { rows: Array<{ day: string }> }).rows.map((r) => r.day);
    expect(days).not.toContain('2026-10-10');
    expect(days).not.toContain('2026-10-20');
    expect(days).toContain('2026-10-21');
    expect(await count(`select count(*) as n from activity_rollup_hours where hour < '2026-10-21T00:00:00Z'`)).toBe(0);
    expect(await count(`select count(*) as n from activity_rollup_hours where hour >= '2026-10-21T00:00:00Z' and hour < '2026-10-22T00:00:00Z'`)).toBe(24);
    await expectRollupsToMatchScans();
    // The job does not rebuild the days retention is about to empty (2026-10-20 starts before the cutoff).
    expect(await rollUpClosedDays(db.knex, { retentionDays: 30, now: NOW })).toMatchObject({ built: [], builtHours: 0 });
    await expectRollupsToMatchScans();
  });
});
