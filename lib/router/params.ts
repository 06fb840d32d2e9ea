import { isIP } from 'node:net';
import { isUuid } from '../util/ids';
import { ACTIVITY_TYPES, ACTOR_TYPES, type ActivityType } from '../types';
import { ACTIVITY_FILTER_PARAMS, ORDER_BY_COLUMN_NAMES, ORDER_BY_FIELDS, orderByField, type ActivityFilters, type ActivityPage, type DomainFilters, type OrderBy, type Paging } from '../store/reports/filters';
import { decodeCursor, KEYSET_ORDER_BY, type KeysetCursor } from '../store/reports/keyset';
import { invalidParam, ApiError } from './apiError';

/**
 * A path parameter that must be the UUID of something the caller was shown, in lower case, as it is
 * stored; a 400 naming the parameter otherwise.
 */
export function uuidPathParam(value: unknown, name: string, whatItIs: string): string {
  const text = String(value ?? '');
  if (!isUuid(text)) throw invalidParam(name, `"${name}" must be ${whatItIs}`);
  return text.toLowerCase();
}

/** A query string as Express hands it over: strings, arrays of them, or nested objects from the qs parser. */
export type RawQuery = Record<string, unknown>;

/**
 * Identifiers: letters, digits and the punctuation ids, emails and slugs use; never quotes, spaces or
 * semicolons. The backslash is allowed because stored ids show control characters escaped
 * (`bob\r\nadmin`, `x\u202e`): a filter takes an id exactly as a report shows it.
 */
const IDENTIFIER = /^[A-Za-z0-9_.@:+\-|/=~#\\]+$/;
/** ISO 8601 date or date-time, with an optional zone (UTC when none): 2026-11-23, 2026-11-23T10:00:00Z, 2026-11-23T10:00:00.123+01:00. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;

/** Rejects parameters a route does not know, so a typo is a 400 and not a silently ignored filter. */
export function allowOnly(query: RawQuery, allowed: readonly string[]): void {
  for (const key of Object.keys(query)) {
    if (!allowed.includes(key)) {
      throw new ApiError(400, 'ERR_AT_UNKNOWN_PARAM', `Unknown parameter "${key.slice(0, 64)}". Allowed here: ${allowed.join(', ') || 'none'}`, key.slice(0, 64));
    }
  }
}

/** One value of a parameter given at most once; undefined when absent. */
export function single(query: RawQuery, name: string, maxLength: number): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidParam(name, `"${name}" must be given once, as a plain value`);
  if (value.length > maxLength) throw invalidParam(name, `"${name}" is longer than its maximum of ${maxLength} characters`);
  return value;
}

export function identifier(query: RawQuery, name: string, maxLength: number): string | undefined {
  const value = single(query, name, maxLength);
  if (value === undefined) return undefined;
  if (value === '' || !IDENTIFIER.test(value)) {
    throw invalidParam(name, `"${name}" may hold letters, digits and . _ @ : + - | / = ~ # \\ only, at most ${maxLength} characters`);
  }
  return value;
}

export function identifierValue(name: string, value: string, maxLength: number): string {
  return identifier({ [name]: value }, name, maxLength) as string;
}

export function date(query: RawQuery, name: string): Date | undefined {
  const value = single(query, name, 40);
  if (value === undefined) return undefined;
  const parsed = ISO_8601.test(value) && isCalendarDay(value.slice(0, 10)) ? new Date(value.length === 10 ? `${value}T00:00:00Z` : /(?:Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : `${value}Z`) : null;
  if (parsed === null || Number.isNaN(parsed.getTime())) {
    throw invalidParam(name, `"${name}" must be an ISO 8601 date or date-time such as 2026-11-23 or 2026-11-23T10:00:00Z`);
  }
  return parsed;
}

/** Date would roll 2026-02-31 over into March; a date that does not exist is refused instead. */
function isCalendarDay(day: string): boolean {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const probe = new Date(Date.UTC(y, m - 1, d));
  return probe.getUTCFullYear() === y && probe.getUTCMonth() === m - 1 && probe.getUTCDate() === d;
}

export function dateRange(query: RawQuery): { startDate?: Date; endDate?: Date } {
  const startDate = date(query, 'startDate');
  const endDate = date(query, 'endDate');
  if (startDate && endDate && startDate > endDate) throw invalidParam('endDate', '"endDate" must not be before "startDate"');
  return { ...(startDate ? { startDate } : {}), ...(endDate ? { endDate } : {}) };
}

export function integer(query: RawQuery, name: string, min: number, max: number, fallback: number): number {
  const value = single(query, name, 10);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw invalidParam(name, `"${name}" must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

export function oneOf<T extends string>(query: RawQuery, name: string, allowed: readonly T[], fallback: T): T;
export function oneOf<T extends string>(query: RawQuery, name: string, allowed: readonly T[]): T | undefined;
export function oneOf<T extends string>(query: RawQuery, name: string, allowed: readonly T[], fallback?: T): T | undefined {
  const value = single(query, name, 64);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw invalidParam(name, `"${name}" must be one of ${allowed.join(', ')}`);
  return value as T;
}

export function boolean(query: RawQuery, name: string): boolean | undefined {
  const value = oneOf(query, name, ['true', 'false'] as const);
  return value === undefined ? undefined : value === 'true';
}

/** One or several activity types: repeated (`?activityType=a&activityType=b`) or comma separated. */
export function activityTypes(query: RawQuery, name = 'activityType'): ActivityType[] | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  const parts = (Array.isArray(raw) ? raw : [raw]);
  if (parts.length > ACTIVITY_TYPES.length || parts.some((p) => typeof p !== 'string')) {
    throw invalidParam(name, `"${name}" takes at most ${ACTIVITY_TYPES.length} plain values`);
  }
  const joined = (parts as string[]).join(',');
  if (joined.length > 400) throw invalidParam(name, `"${name}" is longer than its maximum of 400 characters`);
  const types = [...new Set(joined.split(',').map((t) => t.trim()))];
  for (const type of types) {
    if (!(ACTIVITY_TYPES as readonly string[]).includes(type)) {
      throw invalidParam(name, `"${name}" has an unknown activity type "${type.slice(0, 40)}"; use one or more of ${ACTIVITY_TYPES.join(', ')}`);
    }
  }
  return types as ActivityType[];
}

export function ipAddress(query: RawQuery, name = 'ipAddress'): string | undefined {
  const value = single(query, name, 45);
  if (value === undefined) return undefined;
  if (isIP(value) === 0) throw invalidParam(name, `"${name}" must be an IPv4 or IPv6 address`);
  return value;
}

export { ACTIVITY_FILTER_PARAMS };

export function activityFilters(query: RawQuery): ActivityFilters {
  const filters: ActivityFilters = {};
  const userId = identifier(query, 'userId', 256);
  if (userId !== undefined) filters.userId = userId;
  const sessionId = identifier(query, 'sessionId', 128);
  if (sessionId !== undefined) filters.sessionId = sessionId;
  const types = activityTypes(query);
  if (types !== undefined) filters.activityTypes = types;
  const entityType = identifier(query, 'entityType', 128);
  if (entityType !== undefined) filters.entityType = entityType;
  const entityId = identifier(query, 'entityId', 256);
  if (entityId !== undefined) filters.entityId = entityId;
  Object.assign(filters, dateRange(query));
  const ip = ipAddress(query);
  if (ip !== undefined) filters.ipAddress = ip;
  const success = boolean(query, 'success');
  if (success !== undefined) filters.success = success;
  return Object.assign(filters, domainFilters(query));
}

/** The filters on domain-event columns that `/activities` and `/stats` share. */
export function domainFilters(query: RawQuery): DomainFilters {
  const filters: DomainFilters = {};
  const action = identifier(query, 'action', 255);
  if (action !== undefined) filters.action = action;
  const actorType = oneOf(query, 'actorType', ACTOR_TYPES);
  if (actorType !== undefined) filters.actorType = actorType;
  const category = identifier(query, 'category', 255);
  if (category !== undefined) filters.category = category;
  return filters;
}

/** `limit` (1 to MAX_LIMIT) and `offset`, as every paged route takes them. */
export function limitOffset(query: RawQuery, defaultLimit = DEFAULT_LIMIT): Paging {
  return { limit: integer(query, 'limit', 1, MAX_LIMIT, defaultLimit), offset: integer(query, 'offset', 0, 10_000_000, 0) };
}

/** Paging and sorting of `/activities`. */
export function pageParams(query: RawQuery): ActivityPage {
  const page: ActivityPage = {
    ...limitOffset(query),
    orderBy: orderByParam(query),
    order: oneOf(query, 'order', ['asc', 'desc'] as const, 'desc'),
  };
  const after = afterParam(query, page);
  return after === undefined ? page : { ...page, after };
}

/**
 * `after`: the `nextCursor` of the page before, for keyset paging (as fast on the millionth page as
 * on the first, where an offset reads and skips every row before it). It must come with the sort
 * it was made for, and without an offset.
 */
function afterParam(query: RawQuery, page: ActivityPage): KeysetCursor | undefined {
  const text = single(query, 'after', 400);
  if (text === undefined) return undefined;
  const cursor = decodeCursor(text);
  if (cursor === null) throw invalidParam('after', '"after" must be the pagination.nextCursor of an earlier page, as it was given');
  if (cursor.orderBy !== page.orderBy || cursor.order !== page.order) {
    throw invalidParam('after', `"after" was made for orderBy=${cursor.orderBy}&order=${cursor.order}; give the same orderBy and order with it (keyset paging works with orderBy ${KEYSET_ORDER_BY.join(' or ')})`);
  }
  if (page.offset !== 0) throw invalidParam('offset', '"offset" and "after" page in two different ways; give one of them');
  return cursor;
}

/**
 * `orderBy` by field name (startTime) or column name (start_time), answered as the field name, so
 * the trail records one spelling. Only names of the allowlist pass: the value never reaches SQL.
 */
function orderByParam(query: RawQuery): OrderBy {
  const value = single(query, 'orderBy', 64);
  if (value === undefined) return 'startTime';
  const field = orderByField(value);
  if (field === undefined) throw invalidParam('orderBy', `"orderBy" must be one of ${ORDER_BY_FIELDS.join(', ')}, or the column name of one: ${ORDER_BY_COLUMN_NAMES.join(', ')}`);
  return field;
}

/** Filters in a form that serializes to JSON for the trail (dates as ISO strings). */
export function describeFilters(filters: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(filters)) out[key] = value instanceof Date ? value.toISOString() : value;
  return out;
}
