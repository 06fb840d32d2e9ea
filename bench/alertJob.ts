/**
 * The alerts job under attack, on PostgreSQL:
 *
 *   npm run build && node dist/bench/alertJob.js     DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test
 *
 * In a schema of its own (bench_alerts_<pid>, dropped at the end): stores, over the last 50
 * minutes, 10,000 failed logins from one IP against 300 accounts and 10,000 404s from another IP,
 * then times evaluateAlerts() with every rule at its default: the first run (which creates the
 * alerts) and the next (which finds them made). Prints the alerts per rule.
 */
import { randomUUID } from 'node:crypto';
import knexFactory from 'knex';
import { migrate } from '../lib/index';
import { evaluateAlerts } from '../lib/jobs/alerts';
import { resolveConfig } from '../lib/config';
import { KnexActivityStore } from '../lib/store/activityStore';
import { uuidv7 } from '../lib/util/ids';
import type { ResolvedAlerts } from '../lib/alerts/settings';
import type { ActivityEvent, Logger } from '../lib/types';

const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432/test';
const ROWS_PER_ATTACK = 10_000;
const SPREAD_MS = 50 * 60_000;

function attackRows(now: number): ActivityEvent[] {
  const rows: ActivityEvent[] = [];
  for (let i = 0; i < ROWS_PER_ATTACK; i++) {
    const startTime = now - SPREAD_MS + Math.floor((i * SPREAD_MS) / ROWS_PER_ATTACK);
    const base = {
      sessionId: randomUUID(), entityType: null, entityId: null, details: null, userAgent: 'bench', browser: null, operatingSystem: null,
      deviceInfo: null, location: null, duration: 5, startTime, endTime: startTime + 5, success: false, requestSize: null, responseSize: 10,
    };
    rows.push({ ...base, id: uuidv7(startTime), userId: `account-${i % 300}`, ipAddress: '198.51.100.1', activityType: 'login_failed', action: 'authn_login_fail', method: 'POST', path: '/login', route: '/login', statusCode: 401 });
    rows.push({ ...base, id: uuidv7(startTime), userId: null, ipAddress: '198.51.100.2', activityType: 'data_view', action: 'read', method: 'GET', path: `/probe/${i}`, route: null, statusCode: 404 });
  }
  return rows;
}

async function main(): Promise<void> {
  const databaseUrl = process.env['DATABASE_URL'] ?? LOCAL_PG;
  const schema = `bench_alerts_${process.pid}`;
  const admin = knexFactory({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 1 } });
  const knex = knexFactory({ client: 'pg', connection: databaseUrl, searchPath: [schema], pool: { min: 0, max: 2 } });
  try {
    await admin.raw('create schema ??', [schema]);
    await migrate(knex);
    const rows = attackRows(Date.now());
    const store = new KnexActivityStore(knex, { sessionEvents: false });
    for (let i = 0; i < rows.length; i += 1000) await store.writeBatch(rows.slice(i, i + 1000));
    console.log(`alerts job: ${rows.length.toLocaleString('en-US')} attack rows over the last 50 minutes in schema ${schema}`);
    const settings = resolveConfig({ alerts: {} }, {}).alerts as ResolvedAlerts;
    const logger: Logger = { debug: () => undefined, info: () => undefined, warn: (m) => console.warn(m), error: (m, c) => console.error(m, c ?? '') };
    for (const run of ['first run', 'second run', 'third run', 'fourth run']) {
      const started = performance.now();
      const alerts = await evaluateAlerts(knex, settings, logger);
      const perRule = alerts.reduce<Record<string, number>>((counts, alert) => ({ ...counts, [alert.rule]: (counts[alert.rule] ?? 0) + 1 }), {});
      console.log(`  ${run}: ${(performance.now() - started).toFixed(0)} ms, ${alerts.length} new alerts ${JSON.stringify(perRule)}`);
    }
  } finally {
    await knex.destroy();
    await admin.raw('drop schema if exists ?? cascade', [schema]).catch((error: unknown) => console.error(`could not drop schema ${schema}: ${String(error)}`));
    await admin.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
