import type { Knex } from 'knex';

/**
 * Which tenants' rows a report may read. Decided once per request from the caller (see
 * `tenantScopeOf` in lib/auth/reportAuth.ts) and required by every report query of lib/store, so a
 * route cannot read without saying whose rows it reads.
 */
export interface TenantScope {
  /** The one tenant the caller belongs to; `null` for every tenant (platform roles, single-tenant apps). */
  readonly tenantId: string | null;
}

/** No restriction: platform roles, and every reader of an app that has no tenants. */
export const EVERY_TENANT: TenantScope = Object.freeze({ tenantId: null });

export function tenantOnly(tenantId: string): TenantScope {
  return Object.freeze({ tenantId });
}

/**
 * The columns that tie a row to a tenant: an activity belongs to the tenant it happened in
 * (tenant_id) and is also about an entity some tenant owns (owner_id); a session only has the former.
 */
export const TENANT_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  user_activity: ['tenant_id', 'owner_id'],
  activity_sessions: ['tenant_id'],
};

/**
 * The SQL condition of a scope over `table` (a table name, or an alias given with `columns`), with
 * its bindings; null when the scope reads every tenant. For queries written as raw SQL.
 */
export function tenantCondition(scope: TenantScope, table = 'user_activity', columns: readonly string[] = TENANT_COLUMNS[table] ?? ['tenant_id']): { sql: string; bindings: string[] } | null {
  if (scope.tenantId === null) return null;
  const tenantId = scope.tenantId;
  // `table.column = ?` each, or-ed: one index range per column ((tenant_id, start_time) and
  // (owner_id, start_time)), which the planner combines with a bitmap or.
  return {
    sql: `(${columns.map((column) => `"${table}"."${column}" = ?`).join(' or ')})`,
    bindings: columns.map(() => tenantId),
  };
}

/**
 * Restricts a query of `table` to the rows of the scope's tenant: user_activity rows that happened
 * in it or are about an entity it owns; activity_sessions rows of it. Every tenant: unchanged.
 * The tenant id is bound, never spliced into SQL.
 */
export function applyTenantScope<Q extends Knex.QueryBuilder>(query: Q, scope: TenantScope, table = 'user_activity', columns?: readonly string[]): Q {
  const condition = tenantCondition(scope, table, columns);
  if (condition !== null) query.whereRaw(condition.sql, condition.bindings);
  return query;
}

/**
 * The scope as the trail row of a read records it: `{ tenantScope: tenantId }` when the read was
 * limited to one tenant; nothing when it covered every tenant (as every read did before tenants).
 */
export function describeTenantScope(scope: TenantScope): { tenantScope?: string } {
  return scope.tenantId === null ? {} : { tenantScope: scope.tenantId };
}
