import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { migrate } from '../../lib/store/schema';

export const usingPostgres = Boolean(process.env['DATABASE_URL']);

export interface TestDatabase {
  knex: Knex;
  /** The PostgreSQL schema the tables live in (PostgreSQL runs only). */
  schema: string | null;
  /** A connection string that reaches the same tables (PostgreSQL runs only). */
  url: string | null;
  destroy(): Promise<void>;
}

/**
 * One database per test file: on PostgreSQL a schema of its own, so files and CI runs never meet;
 * embedded, a PGlite loaded from the migrated dump that globalSetup prepared.
 */
export async function openTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const migrated = options.migrated ?? true;
  const url = process.env['DATABASE_URL'];
  if (url) {
    const schema = `at_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    await admin.raw(`create schema "${schema}"`);
    await admin.destroy();
    const knex = knexFactory({ client: 'pg', connection: url, searchPath: [schema], pool: { min: 0, max: 10 } });
    if (migrated) await migrate(knex);
    return {
      knex,
      schema,
      url: withSearchPath(url, schema),
      destroy: async () => {
        await knex.raw(`drop schema "${schema}" cascade`);
        await knex.destroy();
      },
    };
  }
  const dumpPath = process.env['ACTIVITY_TEST_PGLITE_DUMP'];
  const pglite = migrated && dumpPath
    ? new PGlite({ loadDataDir: new Blob([readFileSync(dumpPath)]) })
    : new PGlite();
  const knex = knexFactory({ client: ClientPgLite, dialect: 'postgres', connection: () => ({ pglite }) } as never);
  if (migrated && !dumpPath) await migrate(knex);
  return { knex, schema: null, url: null, destroy: () => knex.destroy() };
}

function withSearchPath(url: string, schema: string): string {
  const separator = url.includes('?') ? '&' : '?';
  return `${url}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/** Empties the package's tables between tests of one file. */
export async function resetTables(knex: Knex): Promise<void> {
  // The trail refuses TRUNCATE through its triggers; a test (as superuser) sets them aside.
  await knex.transaction(async (trx) => {
    await trx.raw('set local session_replication_role = replica');
    await trx.raw('truncate user_activity, activity_sessions, activity_summaries, activity_retention, activity_risk_baseline, activity_alert_acknowledgements, activity_alerts, activity_chain_signatures, activity_daily_rollups, activity_rollup_days, activity_hourly_rollups, activity_rollup_hours');
  });
}

/** Every row of every table of the test's schema (the package's and any other), as text: what a canary search looks through. */
export async function dumpAllRows(knex: Knex): Promise<string> {
  // Every table of the test's schema, so a table added later is searched too.
  const tables = (await knex.raw("select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1")) as { rows: Array<{ table_name: string }> };
  const names = tables.rows.map((t) => t.table_name);
  if (!names.includes('user_activity')) throw new Error(`dumpAllRows found no user_activity among the tables of the current schema: ${names.join(', ')}`);
  const parts: string[] = [];
  for (const table of names) {
    const result = (await knex.raw('select t::text as row from ?? t', [table])) as { rows: Array<{ row: string }> };
    for (const { row } of result.rows) parts.push(row);
  }
  return parts.join('\n');
}
