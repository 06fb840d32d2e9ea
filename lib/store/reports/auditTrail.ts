import type { Knex } from 'knex';
import type { Database } from '../database';
import type { Paging } from './filters';
import { isoOf } from './rowValues';
import { applyTenantScope, type TenantScope } from './tenantScope';

/** One recorded action on an entity, as the audit trail lists it. */
export interface AuditTrailItem {
  id: string;
  /** start_time, ISO 8601. */
  time: string;
  /** Who acted (user_id). */
  userId: string | null;
  /** @deprecated The same as `userId`; removed in the next minor version. */
  actor: string | null;
  /** user, admin, agent, system or service, for domain events. */
  actorType: string | null;
  actorName: string | null;
  status: string | null;
  action: string | null;
  activityType: string;
  method: string | null;
  path: string | null;
  statusCode: number | null;
  success: boolean;
  ipAddress: string | null;
  before: unknown;
  after: unknown;
  /** The fields that changed, for domain events recorded with before and after. */
  diff: unknown;
  reason: unknown;
}

export interface AuditTrailQuery extends Paging {
  entityType: string;
  entityId: string;
  startDate?: Date;
  endDate?: Date;
}

/** A page of an entity's trail, with how many actions the period holds. */
export interface AuditTrail {
  items: AuditTrailItem[];
  total: number;
}

/**
 * Every action on one entity that the tenant scope covers (the caller's tenant's own actions on it,
 * and every action on it when the caller's tenant owns it), oldest first, read through the
 * (entity_type, entity_id, start_time) index; `total` counts all of them in the period, not only this page.
 */
export async function findAuditTrail(knex: Database, scope: TenantScope, query: AuditTrailQuery): Promise<AuditTrail> {
  const scoped = (builder: Knex.QueryBuilder): Knex.QueryBuilder => {
    builder.where('entity_type', query.entityType).where('entity_id', query.entityId);
    applyTenantScope(builder, scope);
    if (query.startDate !== undefined) builder.where('start_time', '>=', query.startDate);
    if (query.endDate !== undefined) builder.where('start_time', '<=', query.endDate);
    return builder;
  };
  const [rows, counted] = await Promise.all([
    scoped(knex('user_activity').select('id', 'start_time', 'user_id', 'action', 'activity_type', 'method', 'path', 'status_code', 'success', 'ip_address', 'details',
      'actor_type', 'actor_name', 'status', 'reason', 'changes'))
      .orderBy([{ column: 'start_time', order: 'asc' }, { column: 'id', order: 'asc' }])
      .limit(query.limit)
      .offset(query.offset),
    scoped(knex('user_activity').count({ total: '*' })).first(),
  ]);
  return {
    items: (rows as Array<Record<string, unknown>>).map(toAuditTrailItem),
    total: Number((counted as { total?: unknown } | undefined)?.total ?? 0),
  };
}

const CHANGING_TYPES = new Set(['data_create', 'data_update']);

/**
 * What changed and why. A domain event says so itself: `record({ details: { before, after, reason } })`
 * stores them at the top of details, and a route's `req.activity.details` lands in details.custom;
 * the route's own words win. Otherwise a create or update is taken to have set what its (sanitized)
 * body held, with nothing known about before.
 */
export function toAuditTrailItem(row: Record<string, unknown>): AuditTrailItem {
  const details = asRecord(row['details']);
  const custom = asRecord(details?.['custom']);
  const told = (key: 'before' | 'after' | 'reason'): { found: boolean; value: unknown } => {
    for (const source of [custom, details]) {
      if (source && Object.prototype.hasOwnProperty.call(source, key)) return { found: true, value: source[key] ?? null };
    }
    return { found: false, value: null };
  };
  const activityType = row['activity_type'] as string;
  const userId = (row['user_id'] as string | null) ?? null;
  // A domain event recorded with before/after carries them, and their diff, in its own columns.
  const changes = asRecord(row['changes']);
  const after = told('after');
  const body = details && CHANGING_TYPES.has(activityType) ? details['body'] ?? null : null;
  return {
    id: row['id'] as string,
    time: isoOf(row['start_time']),
    userId,
    actor: userId,
    action: (row['action'] as string | null) ?? null,
    activityType,
    method: (row['method'] as string | null) ?? null,
    path: (row['path'] as string | null) ?? null,
    statusCode: row['status_code'] === null || row['status_code'] === undefined ? null : Number(row['status_code']),
    success: Boolean(row['success']),
    ipAddress: (row['ip_address'] as string | null) ?? null,
    actorType: (row['actor_type'] as string | null) ?? null,
    actorName: (row['actor_name'] as string | null) ?? null,
    status: (row['status'] as string | null) ?? null,
    before: changes ? changes['before'] ?? null : told('before').value,
    after: changes ? changes['after'] ?? null : after.found ? after.value : body,
    diff: changes ? changes['diff'] ?? null : null,
    reason: (row['reason'] as string | null) ?? told('reason').value,
  };
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}
