import type { Knex } from 'knex';
import type { ActivityFilters } from './filters';
import { applyTenantScope, type TenantScope } from './tenantScope';
import { ACTIVITY_ROW, REPORT_COLUMNS, type ActivityField } from '../columns';

export type ActivityJson = Record<ActivityField, unknown>;

/** Fields stored as double precision: some drivers hand them back as strings. */
const FLOAT_FIELDS = (Object.entries(ACTIVITY_ROW) as Array<[ActivityField, { type: string }]>).filter(([, spec]) => spec.type === 'double precision').map(([field]) => field);
const REPORT_ENTRIES = Object.entries(REPORT_COLUMNS) as Array<[ActivityField, string]>;

/**
 * Restricts a user_activity query to the caller's tenant scope and the filters; every value is
 * bound, never spliced into SQL.
 */
export function applyActivityFilters(query: Knex.QueryBuilder, filters: ActivityFilters, scope: TenantScope, table = 'user_activity'): Knex.QueryBuilder {
  const column = (name: string): string => `${table}.${name}`;
  applyTenantScope(query, scope, table);
  if (filters.userId !== undefined) query.where(column('user_id'), filters.userId);
  if (filters.sessionId !== undefined) query.where(column('session_id'), filters.sessionId);
  if (filters.activityTypes !== undefined) query.whereIn(column('activity_type'), filters.activityTypes);
  if (filters.entityType !== undefined) query.where(column('entity_type'), filters.entityType);
  if (filters.entityId !== undefined) query.where(column('entity_id'), filters.entityId);
  if (filters.startDate !== undefined) query.where(column('start_time'), '>=', filters.startDate);
  if (filters.endDate !== undefined) query.where(column('start_time'), '<=', filters.endDate);
  if (filters.ipAddress !== undefined) query.where(column('ip_address'), filters.ipAddress);
  if (filters.success !== undefined) query.where(column('success'), filters.success);
  if (filters.action !== undefined) query.where(column('action'), filters.action);
  if (filters.actorType !== undefined) query.where(column('actor_type'), filters.actorType);
  if (filters.category !== undefined) query.where(column('category'), filters.category);
  return query;
}

/** A stored row in the shape the routes return: camelCase, ISO times, numbers as numbers on both databases. */
export function toActivityJson(row: Record<string, unknown>): ActivityJson {
  const out = {} as ActivityJson;
  for (const [field, columnName] of REPORT_ENTRIES) {
    const value = row[columnName];
    out[field] = value instanceof Date ? value.toISOString() : typeof value === 'bigint' ? Number(value) : value ?? null;
  }
  for (const field of FLOAT_FIELDS) if (out[field] !== null) out[field] = Number(out[field]);
  return out;
}
