import type { Knex } from 'knex';
import { ActivityTrackingError } from '../errors';
import { isPgLite } from './database';
import type { TenantScope } from './reports/tenantScope';
import { listPartitions } from './partitions/partitions';

/**
 * The PostgreSQL setting the row-level security policies read: the tenant whose rows a connection
 * may see. Unset or empty: every tenant (the writer, the jobs, platform reads).
 */
export const TENANT_SETTING = 'activity_tracking.tenant_id';
/** The policy's name, the same on every table. */
export const TENANT_POLICY = 'activity_tracking_tenant';

const SETTING = `current_setting('${TENANT_SETTING}', true)`;
/**
 * `current_setting(name, true)` is null where the setting was never set on the connection and ''
 * once a transaction that set it locally has ended: both mean "no tenant".
 */
const NO_TENANT = `coalesce(${SETTING}, '') = ''`;

/**
 * The tables the policy guards, each with the condition that ties a row to the tenant (the columns
 * as tenantScope.ts). An acknowledgement has no tenant of its own: it is visible where its alert is,
 * and the subquery is itself held to the alerts' policy.
 */
export const GUARDED_TABLES: ReadonlyArray<{ table: string; condition: string }> = [
  { table: 'user_activity', condition: `${NO_TENANT} or tenant_id = ${SETTING} or owner_id = ${SETTING}` },
  { table: 'activity_sessions', condition: `${NO_TENANT} or tenant_id = ${SETTING}` },
  { table: 'activity_alerts', condition: `${NO_TENANT} or tenant_id = ${SETTING}` },
  { table: 'activity_alert_acknowledgements', condition: `${NO_TENANT} or exists (select 1 from activity_alerts a where a.id = alert_id)` },
  // The rollups carry both tenant columns of the rows they count, so a tenant sees its own counts.
  { table: 'activity_daily_rollups', condition: `${NO_TENANT} or tenant_id = ${SETTING} or owner_id = ${SETTING}` },
  { table: 'activity_hourly_rollups', condition: `${NO_TENANT} or tenant_id = ${SETTING} or owner_id = ${SETTING}` },
];

/**
 * Opt-in second wall behind the report routes' own tenant filter: row-level security on
 * user_activity, activity_sessions, activity_alerts, activity_alert_acknowledgements, activity_daily_rollups and activity_hourly_rollups, so a connection whose `activity_tracking.tenant_id` is set
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
    for (const { table, condition } of await withPartitions(trx)) {
      await trx.raw(`alter table ${table} enable row level security`);
      await trx.raw(`drop policy if exists ${TENANT_POLICY} on ${table}`);
      await trx.raw(`create policy ${TENANT_POLICY} on ${table} using (${condition}) with check (${condition})`);
    }
  });
}

/** Removes the policies and turns row-level security off again on every guarded table. Idempotent. */
export async function disableRowLevelSecurity(knex: Knex): Promise<void> {
  refuseEmbedded(knex);
  await knex.transaction(async (trx) => {
    for (const { table } of (await withPartitions(trx)).reverse()) {
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
     where c.oid in (${GUARDED_TABLES.map(() => 'to_regclass(?)').join(', ')})`, [TENANT_POLICY, ...GUARDED_TABLES.map((g) => g.table)])) as { rows: Array<{ table: string; enabled: boolean; has_policy: boolean }> };
  const status: Record<string, boolean> = Object.fromEntries(GUARDED_TABLES.map((g) => [g.table, false]));
  for (const row of result.rows) status[row.table] = Boolean(row.enabled) && Boolean(row.has_policy);
  return status;
}

/** Whether the policies bind this connection's reads, and if not, every reason why. */
export interface RowLevelSecurityBinding {
  enforced: boolean;
  reasons: string[];
}

/**
 * Checks what PostgreSQL would do with this connection's reads: the policies must be on every guarded
 * table, and the role must be neither a superuser, nor BYPASSRLS, nor (a member of) a table's owner,
 * all of whom PostgreSQL exempts without a word.
 */
export async function rowLevelSecurityBinding(knex: Knex): Promise<RowLevelSecurityBinding> {
  if (isPgLite(knex)) return { enforced: false, reasons: ['the embedded database has a single superuser, whom the policies do not bind'] };
  const reasons: string[] = [];
  const status = await rowLevelSecurityStatus(knex);
  const off = Object.entries(status).filter(([, on]) => !on).map(([table]) => table);
  if (off.length > 0) reasons.push(`no policy on ${off.join(', ')}: run activity-tracking rls enable`);
  const result = (await knex.raw(
    `select current_user as role, r.rolsuper as superuser, r.rolbypassrls as bypass,
       (select string_agg(c.relname, ', ' order by c.relname) from pg_class c
        where c.oid in (${GUARDED_TABLES.map(() => 'to_regclass(?)').join(', ')}) and pg_has_role(current_user, c.relowner, 'USAGE')) as owned
     from pg_roles r where r.rolname = current_user`, GUARDED_TABLES.map((g) => g.table))) as { rows: Array<{ role: string; superuser: boolean; bypass: boolean; owned: string | null }> };
  const role = result.rows[0];
  if (role?.superuser) reasons.push(`the role ${role.role} is a superuser`);
  if (role?.bypass) reasons.push(`the role ${role.role} has BYPASSRLS`);
  if (role?.owned) reasons.push(`the role ${role.role} owns ${role.owned}`);
  return { enforced: reasons.length === 0, reasons };
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

/**
 * The guarded tables and, after user_activity, each of its partitions under the same condition: a
 * partition read by its own name answers to its own policies, not the parent's. Partitions created
 * later copy the parent's policy as they are created (activity_tracking_create_partition).
 */
async function withPartitions(knex: Knex): Promise<Array<{ table: string; condition: string }>> {
  const partitions = await listPartitions(knex);
  return GUARDED_TABLES.flatMap((guarded) => guarded.table === 'user_activity'
    ? [guarded, ...partitions.map((p) => ({ table: `"${p.name}"`, condition: guarded.condition }))]
    : [guarded]);
}

function refuseEmbedded(knex: Knex): void {
  if (isPgLite(knex)) {
    throw new ActivityTrackingError('ERR_AT_DATABASE',
      'Row-level security needs a PostgreSQL server: the embedded database has a single superuser, whom PostgreSQL exempts from the policies. Fix: set DATABASE_URL, or rely on the report routes\' own tenant filter');
  }
}
