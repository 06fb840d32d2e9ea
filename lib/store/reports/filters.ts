import type { KeysetCursor } from './keyset';
import type { ActivityType, ActorType } from '../../types';

/** `limit` and `offset` of a paged read. */
export interface Paging {
  limit: number;
  offset: number;
}

/** A time range with both ends, inclusive. */
export interface Period {
  startDate: Date;
  endDate: Date;
}

/** The filters on domain-event columns that `/activities`, `/export` and `/stats` share. */
export interface DomainFilters {
  action?: string;
  actorType?: ActorType;
  category?: string;
}

/** The query parameters of the ActivityFilters, in the order the routes document them. */
export const ACTIVITY_FILTER_PARAMS = ['userId', 'sessionId', 'activityType', 'entityType', 'entityId', 'startDate', 'endDate', 'ipAddress', 'success', 'action', 'actorType', 'category'] as const;

/** What `GET /activities` and `GET /export` filter by. */
export interface ActivityFilters extends DomainFilters {
  userId?: string;
  sessionId?: string;
  activityTypes?: ActivityType[];
  entityType?: string;
  entityId?: string;
  startDate?: Date;
  endDate?: Date;
  ipAddress?: string;
  success?: boolean;
}

/** What `GET /stats` and `GET /me/summary` aggregate over: always a bounded time range, so start_time (or user_id, start_time) can be used. */
export interface StatsFilters extends Period, DomainFilters {
  userId?: string;
  activityTypes?: ActivityType[];
}

/**
 * Fields `orderBy` may name, each with the column it sorts by: only those an index can hand over
 * in order (start_time; duration; created_at; user_id and activity_type lead an index with
 * start_time), so a sorted page never sorts the whole table.
 */
export const ORDER_BY_COLUMNS = {
  startTime: 'start_time',
  duration: 'duration',
  userId: 'user_id',
  activityType: 'activity_type',
  createdAt: 'created_at',
} as const;
export type OrderBy = keyof typeof ORDER_BY_COLUMNS;

export const ORDER_BY_FIELDS: readonly OrderBy[] = Object.freeze(Object.keys(ORDER_BY_COLUMNS) as OrderBy[]);
/** The column names that differ from their field's name (start_time for startTime). */
export const ORDER_BY_COLUMN_NAMES: readonly string[] = Object.freeze(ORDER_BY_FIELDS.map((field) => ORDER_BY_COLUMNS[field]).filter((column) => !(ORDER_BY_FIELDS as readonly string[]).includes(column)));

/** What `orderBy` accepts: the field names, then the column names that differ from them. */
export const ORDER_BY_NAMES: readonly string[] = Object.freeze([...ORDER_BY_FIELDS, ...ORDER_BY_COLUMN_NAMES]);

// A Map rather than ORDER_BY_COLUMNS[name]: a plain object would also answer "constructor" or "toString".
const FIELD_OF_NAME = new Map<string, OrderBy>(ORDER_BY_FIELDS.flatMap((field) => [[field, field], [ORDER_BY_COLUMNS[field], field]]));

/**
 * The field `orderBy` names, by its field name as the JSON rows and the CSV header show it, or by
 * its column name as the tables do; undefined for anything else.
 */
export function orderByField(name: string): OrderBy | undefined {
  return FIELD_OF_NAME.get(name);
}

export type SortOrder = 'asc' | 'desc';

/** Paging and sorting of `/activities`. */
export interface ActivityPage extends Paging {
  orderBy: OrderBy;
  order: SortOrder;
  /** Keyset paging: the page starts after this row (lib/store/reports/keyset.ts); offset is then 0. */
  after?: KeysetCursor;
}
