import type { Knex } from 'knex';
import type { ActivityFilters } from '../../router/params';
import { applyTenantScope, type TenantScope } from './tenantScope';

/** user_activity columns as the report routes name them (camelCase), in the order CSV exports use. */
export const ACTIVITY_COLUMNS = {
  id: 'id',
  startTime: 'start_time',
  endTime: 'end_time',
  userId: 'user_id',
  sessionId: 'session_id',
  activityType: 'activity_type',
  action: 'action',
  entityType: 'entity_type',
  entityId: 'entity_id',
  method: 'method',
  path: 'path',
  route: 'route',
  statusCode: 'status_code',
  success: 'success',
  duration: 'duration',
  ipAddress: 'ip_address',
  userAgent: 'user_agent',
  browser: 'browser',
  operatingSystem: 'operating_system',
  deviceInfo: 'device_info',
  location: 'location',
  requestSize: 'request_size',
  responseSize: 'response_size',
  details: 'details',
  actorType: 'actor_type',
  actorRole: 'actor_role',
  actorName: 'actor_name',
  category: 'category',
  severity: 'severity',
  entityName: 'entity_name',
  tenantId: 'tenant_id',
  ownerId: 'owner_id',
  status: 'status',
  reason: 'reason',
  changes: 'changes',
  personalData: 'personal_data',
  riskScore: 'risk_score',
  riskFactors: 'risk_factors',
  anomaly: 'anomaly',
  createdAt: 'created_at',
} as const;
export type ActivityField = keyof typeof ACTIVITY_COLUMNS;
export type ActivityJson = Record<ActivityField, unknown>;

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
  for (const [field, columnName] of Object.entries(ACTIVITY_COLUMNS) as Array<[ActivityField, string]>) {
    const value = row[columnName];
    out[field] = value instanceof Date ? value.toISOString() : typeof value === 'bigint' ? Number(value) : value ?? null;
  }
  if (out.duration !== null) out.duration = Number(out.duration);
  if (out.riskScore !== null) out.riskScore = Number(out.riskScore);
  return out;
}
