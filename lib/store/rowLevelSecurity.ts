import type { Knex } from 'knex';
import { ActivityTrackingError } from '../errors';
import { isPgLite } from './database';
import type { TenantScope } from './reports/tenantScope';

/**
 * The PostgreSQL setting the row-level security policies read: the tenant whose rows a connection
 * may see. Unset or empty: every tenant (the writer, the jobs, platform reads).
 */
export const TENANT_SETTING = 'activity_tracking.tenant_id';
/** The policy's name, the same on both tables. */
export const TENANT_POLICY = 'activity_tracking_tenant';

/** The tables the policy guards, with the columns that tie a row to a tenant (as tenantScope.ts). */
const GUARDED: ReadonlyArray<{ table: string; columns: readonly string[] }> = [
  { table: 'user_activity', columns: ['tenant_id', 'owner_id'] },
  { table: 'activity_sessions', columns: ['tenant_id'] },
];

/**
 * The policy's condition. `current_setting(name, true)` is null where the setting was never set on
 * the connection and '' once a transaction that set it locally has ended: both mean "no tenant".
 */
function policyCondition(columns: readonly string[]): string {
  const setting = `current_setting('${TENANT_SETTING}', true)`;
  return `coalesce(${setting}, '') = '' or ${columns.map((column) => `${column} = ${setting}`).join(' or ')}`;
}

/**
 * Opt-in second wall behind the report routes' own tenant filter: row-level security on
 * user_activity and activity_sessions, so a connection whose `activity_tracking.tenant_id` is set
 * sees only that tenant's rows (and activities about entities it owns) whatever SQL it runs.
 * Idempotent. One permissive policy for every command: connections without the setting (the
 * writer, the append function, the jobs) see and write every row as before, and the append-only
 * triggers and the hash chain are untouched.
 *
 * PostgreSQL exempts superusers and the tables' owner (the role that ran the migrations) from
 * row-level security, so the wall applies to connections made as another role: give the report
 * routes (or your BI tool) such a role. The embedded database has a single superuser, so this
 * refuses to run there.
 */
export async function enableRowLevelSecurity(knex: Knex): Promise<void> {
  refuseEmbedded(knex);
  await knex.transaction(async (trx) => {
    for (const { table, columns } of GUARDED) {
      await trx.raw(`alter table ${table} enable row level security`);
      await trx.raw(`drop policy if exists ${TENANT_POLICY} on ${table}`);
      await trx.raw(`create policy ${TENANT_POLICY} on ${table} using (${policyCondition(columns)}) with check (${policyCondition(columns)})`);
    }
  });
}

/** Removes the policies and turns row-level security off again on both tables. Idempotent. */
export async function disableRowLevelSecurity(knex: Knex): Promise<void> {
  refuseEmbedded(knex);
  await knex.transaction(async (trx) => {
    for (const { table } of GUARDED) {
      await trx.raw(`drop policy if exists ${TENANT_POLICY} on ${table}`);
      await trx.raw(`alter table ${table} disable row level security`);
    }
  });
}

/** Whether the policies are in place, per table. */
export async function rowLevelSecurityStatus(knex: Knex): Promise<Record<string, boolean>> {
  const result = (await knex.raw(
    `select c.relname as table, c.relrowsecurity as enabled, exists (select 1 from pg_policies p where p.schemaname = n.nspname and p.tablename = c.relname and p.policyname = ?) as has_policy
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.oid in (to_regclass('user_activity'), to_regclass('activity_sessions'))`, [TENANT_POLICY])) as { rows: Array<{ table: string; enabled: boolean; has_policy: boolean }> };
  const status: Record<string, boolean> = { user_activity: false, activity_sessions: false };
  for (const row of result.rows) status[row.table] = Boolean(row.enabled) && Boolean(row.has_policy);
  return status;
}

/**
 * Runs a report's queries. With row-level security on (the `rowLevelSecurity` option) and a caller
 * of one tenant, they run in one read-only transaction that sets `activity_tracking.tenant_id`
 * locally, so the policies filter what the route's own condition already filtered; the setting
 * ends with the transaction, so a pooled connection never carries it to another caller. Otherwise
 * (the option off, a platform caller, or the embedded database, which has no roles to separate)
 * on the shared connection pool.
 */
export async function readInTenant<T>(knex: Knex, scope: TenantScope, rowLevelSecurity: boolean, read: (db: Knex) => Promise<T>): Promise<T> {
  if (!rowLevelSecurity || scope.tenantId === null || isPgLite(knex)) return read(knex);
  const tenantId = scope.tenantId;
  return knex.transaction(async (trx) => {
    await trx.raw('set transaction read only');
    await trx.raw('select set_config(?, ?, true)', [TENANT_SETTING, tenantId]);
    return read(trx);
  });
}

function refuseEmbedded(knex: Knex): void {
  if (isPgLite(knex)) {
    throw new ActivityTrackingError('ERR_AT_DATABASE',
      'Row-level security needs a PostgreSQL server: the embedded database has a single superuser, whom PostgreSQL exempts from the policies. Fix: set DATABASE_URL, or rely on the report routes\' own tenant filter');
  }
}
