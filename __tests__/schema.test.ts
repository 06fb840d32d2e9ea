import { HASH_FUNCTIONS } from '../migrations/sql/generator/chainSql';
import { APPEND_FUNCTION, APPEND_ROWS_FUNCTION } from '../migrations/sql/generator/appendFunction';
import { APPEND_ROWS_FUNCTION_V4 } from '../migrations/sql/appendRowsV4';
import { HASH_FUNCTIONS_V2 } from '../migrations/sql/domainEventsV2';
import { APPEND_FUNCTION_V3 } from '../migrations/sql/riskScoresV3';
import { renderFrozenModule, UNPUBLISHED_MARK, writeFrozenFile } from '../migrations/sql/generator/frozenFile';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import request from 'supertest';
import express from 'express';
import { main } from '../lib/cli/main';
import { createActivityTracker } from '../lib/tracker';
import { migrate, MIGRATIONS_TABLE, verifyChain } from '../lib/index';
import { LATEST_MIGRATION, migrationConfig } from '../migrations/index';
import { memoryLogger, storedActivities } from './support/app';
import { openTestDatabase, usingPostgres, type TestDatabase } from './support/database';
import { withEnv } from './support/env';

const TABLES = ['user_activity', 'activity_sessions', 'activity_summaries', 'activity_retention', 'activity_alerts', 'activity_alert_acknowledgements', 'activity_risk_baseline', 'activity_chain_signatures', 'activity_rollup_days', 'activity_daily_rollups', 'activity_rollup_hours', 'activity_hourly_rollups'];
const ALL_MIGRATIONS = ['20261123000000_create_activity_tables', '20261124000000_report_indexes', '20261125000000_integrity', '20261126000000_domain_events', '20261127000000_risk_scores', '20261128000000_alerts', '20261129000000_retention_guard', '20261130000000_writer_role', '20261202000000_writer_hashes', '20261203000000_sort_indexes', '20261208000000_time_partitions', '20261209000000_daily_rollups'];

async function columnsWithoutComment(db: TestDatabase): Promise<string[]> {
  const result = await db.knex.raw(
    `select c.relname || '.' || coalesce(a.attname, '(table)') as name
       from pg_class c
       join pg_namespace n on n.oid = c.relnamespace and n.nspname = current_schema()
       left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where c.relname = any(?)
        and ((a.attname is null and obj_description(c.oid, 'pg_class') is null)
          or (a.attname is not null and col_description(c.oid, a.attnum) is null))`, [TABLES]);
  return (result.rows as Array<{ name: string }>).map((r) => r.name);
}

describe('the schema', () => {
  let db: TestDatabase;
  beforeAll(async () => { db = await openTestDatabase({ migrated: false }); });
  afterAll(async () => { await db.destroy(); });

  it('is created by migrate(), in its own migrations table, with a comment on every table and column', async () => {
    expect(await db.knex.schema.hasTable('user_activity')).toBe(false);
    const { applied } = await migrate(db.knex);
    expect(applied).toEqual(ALL_MIGRATIONS);
    expect((await migrate(db.knex)).applied).toEqual([]);
    expect(await db.knex(MIGRATIONS_TABLE).pluck('name')).toEqual(ALL_MIGRATIONS);
    expect(await db.knex.schema.hasTable('knex_migrations')).toBe(false);
    for (const table of TABLES) expect(await db.knex.schema.hasTable(table)).toBe(true);
    expect(await columnsWithoutComment(db)).toEqual([]);
    const columns = Object.keys(await db.knex('user_activity').columnInfo());
    expect(columns.sort()).toEqual([
      'action', 'activity_type', 'browser', 'created_at', 'details', 'device_info', 'duration', 'end_time', 'entity_id', 'entity_type',
      'id', 'ip_address', 'location', 'method', 'operating_system', 'path', 'request_size', 'response_size', 'route', 'session_id',
      'start_time', 'status_code', 'success', 'user_agent', 'user_id', 'chain_position', 'prev_hash', 'row_hash',
      'actor_type', 'actor_role', 'actor_name', 'category', 'severity', 'entity_name', 'tenant_id', 'owner_id', 'status', 'reason',
      'changes', 'personal_data', 'risk_score', 'risk_factors', 'anomaly', 'hash_version',
    ].sort());
    const indexes = (await db.knex.raw(`select indexname from pg_indexes where tablename = 'user_activity' and schemaname = current_schema()`)).rows.map((r: { indexname: string }) => r.indexname);
    expect(indexes).toEqual(expect.arrayContaining([
      'user_activity_start_time_idx', 'user_activity_user_time_idx', 'user_activity_session_time_idx',
      'user_activity_type_time_idx', 'user_activity_entity_time_idx', 'user_activity_ip_time_idx', 'user_activity_duration_idx',
      'user_activity_tenant_time_idx', 'user_activity_owner_time_idx', 'user_activity_created_at_idx',
    ]));
  });
});

(usingPostgres ? describe : describe.skip)('on a PostgreSQL server', () => {
  let db: TestDatabase;
  beforeAll(async () => { db = await openTestDatabase({ migrated: false }); });
  afterAll(async () => { await db.destroy(); });

  it('never changes the schema unless told, and names the command that does', async () => {
    const tracker = createActivityTracker({ database: db.url!, logger: memoryLogger() });
    await expect(tracker.ready()).rejects.toMatchObject({
      code: 'ERR_AT_SCHEMA_MISSING',
      message: expect.stringContaining('run `npx activity-tracking migrate` with DATABASE_URL set, or pass `autoMigrate: true`'),
    });
    expect(await db.knex.schema.hasTable('user_activity')).toBe(false);
    await tracker.close();
  });

  it('migrates with `activity-tracking migrate`, and a tracker then records', async () => {
    const out = new PassThrough();
    let printed = '';
    out.on('data', (chunk: Buffer) => { printed += chunk.toString(); });
    expect(await withEnv({ DATABASE_URL: db.url! }, () => main(['migrate'], out))).toBe(0);
    const month = (offset: number) => { const now = new Date(); return `user_activity_p${new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)).toISOString().slice(0, 10).replace(/-/g, '')}`; };
    expect(printed).toBe(`Applied ${ALL_MIGRATIONS.length} migration(s) to PostgreSQL: ${ALL_MIGRATIONS.join(', ')}\nCreated partition(s) ${[0, 1, 2].map(month).join(', ')}\n`);
    const tracker = createActivityTracker({ database: db.url!, logger: memoryLogger(), flushIntervalMs: 5 });
    await tracker.ready();
    const app = express();
    app.use(tracker.middleware());
    app.get('/', (_req, res) => { res.send('ok'); });
    await request(app).get('/');
    await tracker.close();
    expect(await storedActivities(db.knex)).toHaveLength(1);
  });

  it('names the command when the tables are behind the package', async () => {
    await db.knex('activity_tracking_migrations').delete();
    const tracker = createActivityTracker({ database: db.url!, logger: memoryLogger() });
    await expect(tracker.ready()).rejects.toMatchObject({
      code: 'ERR_AT_SCHEMA_BEHIND',
      message: expect.stringContaining('missing migration 20261209000000_daily_rollups). Fix: run `npx activity-tracking migrate`'),
    });
    await tracker.close();
  });

  it('migrates by itself with autoMigrate: true', async () => {
    await db.knex.raw('drop table user_activity, activity_sessions, activity_summaries, activity_retention, activity_alert_acknowledgements, activity_alerts, activity_risk_baseline, activity_chain_signatures, activity_hourly_rollups, activity_rollup_hours, activity_daily_rollups, activity_rollup_days, activity_tracking_migrations, activity_tracking_migrations_lock');
    const tracker = createActivityTracker({ database: db.url!, autoMigrate: true, logger: memoryLogger() });
    await tracker.ready();
    await tracker.close();
    expect(await db.knex.schema.hasTable('user_activity')).toBe(true);
  });
});


describe('the embedded database', () => {
  it('lives under ACTIVITY_DATA_DIR, migrates itself on first use, and `activity-tracking migrate` finds it current', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'activity-embedded-'));
    try {
      await withEnv({ DATABASE_URL: undefined, ACTIVITY_DATA_DIR: dataDir }, async () => {
        const tracker = createActivityTracker({ logger: memoryLogger(), flushIntervalMs: 5 });
        await tracker.ready();
        const app = express();
        app.use(tracker.middleware());
        app.get('/', (_req, res) => { res.send('ok'); });
        await request(app).get('/');
        await tracker.flush();
        expect(await storedActivities(tracker.knex)).toHaveLength(1);
        await tracker.close();

        const out = new PassThrough();
        let printed = '';
        out.on('data', (chunk: Buffer) => { printed += chunk.toString(); });
        expect(await main(['migrate'], out)).toBe(0);
        expect(printed).toBe(`Activity tracking tables in the embedded database (${dataDir}) are up to date.\n`);
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('upgrading a trail recorded before the hash chain', () => {
  let db: TestDatabase;
  beforeAll(async () => { db = await openTestDatabase({ migrated: false }); });
  afterAll(async () => { await db.destroy(); });

  it('joins the rows already stored into the chain, in the order they were stored, and the chain verifies', async () => {
    await db.knex.migrate.up({ ...migrationConfig(), name: '20261123000000_create_activity_tables' });
    await db.knex.migrate.up({ ...migrationConfig(), name: '20261124000000_report_indexes' });
    const base = Date.UTC(2026, 10, 1);
    const ids = Array.from({ length: 1203 }, (_, i) => `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`);
    for (let i = 0; i < ids.length; i += 400) {
      await db.knex('user_activity').insert(ids.slice(i, i + 400).map((id, k) => ({
        id, activity_type: 'page_view', start_time: new Date(base + (i + k) * 1000), success: true, details: JSON.stringify({ n: i + k, nested: { b: 1, a: [1.5, 'x'] } }),
        created_at: new Date(base + (i + k) * 1000),
      })));
    }
    expect((await migrate(db.knex)).applied).toEqual(ALL_MIGRATIONS.slice(ALL_MIGRATIONS.indexOf('20261125000000_integrity')));
    const chain = await db.knex('user_activity').orderBy('chain_position').select('id', 'chain_position');
    expect(chain.map((r: { id: string }) => r.id)).toEqual(ids);
    expect(chain.map((r: { chain_position: unknown }) => Number(r.chain_position))).toEqual(ids.map((_, i) => i + 1));
    expect(await verifyChain(db.knex)).toMatchObject({ ok: true, rowsChecked: 1203, verifiedFrom: 1, verifiedTo: 1203 });
  });
});

describe('the SQL the package runs', () => {
  it('is what the newest migration installs: a change to the encoding or the append function needs a migration of its own', () => {
    // When this fails, run `npm run sql:freeze` (migrations/sql/generator/freeze.ts) for a new migration that installs it, and point this test at it.
    expect(HASH_FUNCTIONS).toEqual(HASH_FUNCTIONS_V2); // migration 20261126000000_domain_events
    expect(APPEND_FUNCTION).toEqual(APPEND_FUNCTION_V3); // migration 20261127000000_risk_scores
    expect(APPEND_ROWS_FUNCTION).toEqual(APPEND_ROWS_FUNCTION_V4); // migration 20261202000000_writer_hashes
    expect(LATEST_MIGRATION).toBe(ALL_MIGRATIONS[ALL_MIGRATIONS.length - 1]);
  });

  it('is what a fully migrated database holds, whichever migration installed it last', async () => {
    const db = await openTestDatabase();
    try {
      const found = (await db.knex.raw(
        `select p.proname || '/' || p.pronargs as name, p.prosrc from pg_proc p join pg_namespace n on n.oid = p.pronamespace
          where n.nspname = current_schema() and p.proname like 'activity_tracking_%'`)) as { rows: Array<{ name: string; prosrc: string }> };
      const installed = new Map(found.rows.map((r) => [r.name, r.prosrc]));
      const [contentHash, rowHash] = HASH_FUNCTIONS;
      const [endSessions, append] = APPEND_FUNCTION;
      expect(installed.get('activity_tracking_content_hash/40')).toBe(bodyOf(contentHash!));
      expect(installed.get('activity_tracking_row_hash/41')).toBe(bodyOf(rowHash!));
      expect(installed.get('activity_tracking_end_sessions/3')).toBe(bodyOf(endSessions!));
      expect(installed.get('activity_tracking_append/3')).toBe(bodyOf(append!));
      expect(installed.get('activity_tracking_append_rows/3')).toBe(bodyOf(APPEND_ROWS_FUNCTION[0]!));
    } finally {
      await db.destroy();
    }
  });

  it('is frozen for the next migration by sql:freeze, which never overwrites a published frozen file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'activity-freeze-'));
    try {
      const rendered = renderFrozenModule('20991231000000_next', [{ name: 'APPEND_FUNCTION_V9', doc: 'x', statements: APPEND_FUNCTION }]);
      const file = writeFrozenFile(dir, 'chainV9', rendered);
      expect(readFileSync(file, 'utf8')).toBe(rendered);
      expect(rendered).toContain(` * ${UNPUBLISHED_MARK}\n`);
      expect(UNPUBLISHED_MARK).toMatch(/^UNPUBLISHED: /);
      expect(loadFrozenModule(rendered)['APPEND_FUNCTION_V9']).toEqual(APPEND_FUNCTION);
      expect(writeFrozenFile(dir, 'chainV9', rendered)).toBe(file); // unpublished: written again
      const published = readFileSync(path.join(process.cwd(), 'migrations', 'sql', 'riskScoresV3.ts'), 'utf8');
      writeFileSync(path.join(dir, 'riskScoresV3.ts'), published);
      expect(() => writeFrozenFile(dir, 'riskScoresV3', rendered)).toThrow(/published migration's frozen SQL and never changes\. Fix: freeze into a new file for the next migration, e\.g\. riskScoresV4/);
      expect(readFileSync(path.join(dir, 'riskScoresV3.ts'), 'utf8')).toBe(published);
      expect(() => writeFrozenFile(dir, 'chain', rendered)).toThrow(/not a frozen file name/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** What PostgreSQL keeps as a function's source: the text between the statement's dollar quotes. */
function bodyOf(statement: string): string {
  const tag = /\$[a-z_]*\$/.exec(statement)?.[0] ?? '';
  return statement.slice(statement.indexOf(tag) + tag.length, statement.lastIndexOf(tag));
}

/** Evaluates a module renderFrozenModule wrote (its only TypeScript is the exports' type). */
function loadFrozenModule(source: string): Record<string, unknown> {
  const exports: Record<string, unknown> = {};
  const script = source.split('\n').map((line) => {
    const declaration = /^export const (\w+): readonly string\[\] = \[$/.exec(line);
    return declaration ? `exports.${declaration[1]} = [` : line;
  }).join('\n');
  new Function('exports', script)(exports);
  return exports;
}
