import { ACTIVITY_TYPES, ACTOR_TYPES, EVENT_STATUSES, SEVERITIES } from '../types';
import type { ActivityType, ActorType, Changes, DeviceInfo, EventStatus, GeoLocation, Severity } from '../types';

/**
 * The one owner of a `user_activity` row: each column's name, the event field it is written from,
 * its SQL type, whether the chain's hash covers it (and in which encoding version, at which place)
 * and its OpenAPI schema. The event type (`ActivityEvent`), the batch's insert list, the report row
 * mapping and the CSV export header, the chain encoding's field order and the OpenAPI row schema are
 * all derived from it, so a new optional column is one entry here plus its migration.
 *
 * Entries are in the order report rows and exports show them. A column the chain covers names its
 * encoding version and its place in that version's record: those are frozen with the migrations
 * that installed the hash functions, and a new covered column needs a new encoding version.
 */

export type SqlType = 'uuid' | 'text' | 'jsonb' | 'double precision' | 'timestamptz' | 'integer' | 'boolean';

/** Where the chain's hash covers a column: encoding version 1 or 2, and its index in that version's record. */
export type ChainPlace = readonly [version: 1 | 2, index: number];

export interface ColumnSpec {
  readonly column: string;
  readonly type: SqlType;
  readonly chain: ChainPlace | null;
  /** The JSON schema of the field in report rows (OpenAPI 3.1). */
  readonly schema: Readonly<Record<string, unknown>>;
  /** True for fields an event may leave out (every column added after the first version). */
  readonly optional?: boolean;
  /** True for the columns the database may set as it stores the row (risk scoring): chain encoding 3 links them in SQL instead of hashing them with the content. */
  readonly scored?: boolean;
}

declare const valueType: unique symbol;
/** A column spec that also carries, for the compiler only, the TypeScript type of its event field. */
export type Column<T, S extends ColumnSpec = ColumnSpec> = S & { readonly [valueType]?: T };

/** `column<T>()(spec)`: the spec as given (literal types kept), typed with its field's value type `T`. */
function column<T>() {
  return <const S extends ColumnSpec>(spec: S): Column<T, S> => spec as Column<T, S>;
}

const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, 'null'], ...extra });
const text = nullable('string');
const time = { type: 'string', format: 'date-time' };
const nullableEnum = (values: readonly string[]) => nullable('string', { enum: [...values, null] });

export const ACTIVITY_ROW = {
  /** UUID (version 7, time ordered) generated at capture; the row's primary key. */
  id: column<string>()({ column: 'id', type: 'uuid', chain: [1, 0], schema: { type: 'string' } }),
  /** When the request started or the event happened, in Unix epoch milliseconds (kept as a number: the write path serializes it without a Date). */
  startTime: column<number>()({ column: 'start_time', type: 'timestamptz', chain: [1, 15], schema: time }),
  /** When the response ended or the client went away, in Unix epoch milliseconds. */
  endTime: column<number | null>()({ column: 'end_time', type: 'timestamptz', chain: [1, 16], schema: nullable('string', { format: 'date-time' }) }),
  userId: column<string | null>()({ column: 'user_id', type: 'text', chain: [1, 1], schema: text }),
  sessionId: column<string | null>()({ column: 'session_id', type: 'text', chain: [1, 2], schema: text }),
  activityType: column<ActivityType>()({ column: 'activity_type', type: 'text', chain: [1, 3], schema: { type: 'string', enum: [...ACTIVITY_TYPES] } }),
  action: column<string | null>()({ column: 'action', type: 'text', chain: [1, 6], schema: text }),
  entityType: column<string | null>()({ column: 'entity_type', type: 'text', chain: [1, 4], schema: text }),
  entityId: column<string | null>()({ column: 'entity_id', type: 'text', chain: [1, 5], schema: text }),
  method: column<string | null>()({ column: 'method', type: 'text', chain: [1, 17], schema: text }),
  /** Path without the query string. */
  path: column<string | null>()({ column: 'path', type: 'text', chain: [1, 18], schema: text }),
  /** Matched route pattern, e.g. `/api/items/:id`. */
  route: column<string | null>()({ column: 'route', type: 'text', chain: [1, 19], schema: text }),
  statusCode: column<number | null>()({ column: 'status_code', type: 'integer', chain: [1, 20], schema: nullable('integer') }),
  success: column<boolean>()({ column: 'success', type: 'boolean', chain: [1, 21], schema: { type: 'boolean' } }),
  /** Milliseconds, from a monotonic clock. */
  duration: column<number | null>()({ column: 'duration', type: 'double precision', chain: [1, 14], schema: nullable('number') }),
  ipAddress: column<string | null>()({ column: 'ip_address', type: 'text', chain: [1, 8], schema: text }),
  userAgent: column<string | null>()({ column: 'user_agent', type: 'text', chain: [1, 9], schema: text }),
  browser: column<string | null>()({ column: 'browser', type: 'text', chain: [1, 10], schema: text }),
  operatingSystem: column<string | null>()({ column: 'operating_system', type: 'text', chain: [1, 11], schema: text }),
  deviceInfo: column<DeviceInfo | null>()({ column: 'device_info', type: 'jsonb', chain: [1, 12], schema: nullable('object') }),
  location: column<GeoLocation | null>()({ column: 'location', type: 'jsonb', chain: [1, 13], schema: nullable('object') }),
  requestSize: column<number | null>()({ column: 'request_size', type: 'integer', chain: [1, 22], schema: nullable('integer') }),
  responseSize: column<number | null>()({ column: 'response_size', type: 'integer', chain: [1, 23], schema: nullable('integer') }),
  /** Sanitized params, query, body excerpt and selected headers (requests), or the event's own details. */
  details: column<Record<string, unknown> | null>()({ column: 'details', type: 'jsonb', chain: [1, 7], schema: nullable('object') }),
  /** Who acted, for domain events: user, admin, agent, system or service. */
  actorType: column<ActorType | null>()({ column: 'actor_type', type: 'text', chain: [2, 0], optional: true, schema: nullableEnum(ACTOR_TYPES) }),
  actorRole: column<string | null>()({ column: 'actor_role', type: 'text', chain: [2, 1], optional: true, schema: text }),
  actorName: column<string | null>()({ column: 'actor_name', type: 'text', chain: [2, 2], optional: true, schema: text }),
  category: column<string | null>()({ column: 'category', type: 'text', chain: [2, 3], optional: true, schema: text }),
  severity: column<Severity | null>()({ column: 'severity', type: 'text', chain: [2, 4], optional: true, scored: true, schema: nullableEnum(SEVERITIES) }),
  entityName: column<string | null>()({ column: 'entity_name', type: 'text', chain: [2, 5], optional: true, schema: text }),
  /** The tenant the row belongs to (getTenantId, or the event's tenantId). */
  tenantId: column<string | null>()({ column: 'tenant_id', type: 'text', chain: [2, 6], optional: true, schema: text }),
  /** The tenant (or party) that owns the entity the row is about. */
  ownerId: column<string | null>()({ column: 'owner_id', type: 'text', chain: [2, 7], optional: true, schema: text }),
  status: column<EventStatus | null>()({ column: 'status', type: 'text', chain: [2, 8], optional: true, schema: nullableEnum(EVENT_STATUSES) }),
  reason: column<string | null>()({ column: 'reason', type: 'text', chain: [2, 9], optional: true, schema: text }),
  /** `{ before, after, diff }` of a domain event, sanitized. */
  changes: column<Changes | null>()({ column: 'changes', type: 'jsonb', chain: [2, 10], optional: true, schema: nullable('object', { description: 'A domain event\'s sanitized { before, after, diff: [{ path, before, after }] }' }) }),
  personalData: column<boolean | null>()({ column: 'personal_data', type: 'boolean', chain: [2, 11], optional: true, schema: nullable('boolean') }),
  riskScore: column<number | null>()({ column: 'risk_score', type: 'double precision', chain: [2, 12], optional: true, scored: true, schema: nullable('number', { minimum: 0, maximum: 1 }) }),
  riskFactors: column<string[] | null>()({ column: 'risk_factors', type: 'jsonb', chain: [2, 13], optional: true, scored: true, schema: nullable('array', { items: { type: 'string' } }) }),
  anomaly: column<boolean | null>()({ column: 'anomaly', type: 'boolean', chain: [2, 14], optional: true, scored: true, schema: nullable('boolean') }),
};

type Row = typeof ACTIVITY_ROW;
type ValueOf<C> = C extends { readonly [valueType]?: infer T } ? T : never;
type OptionalField = { [K in keyof Row]: Row[K] extends { optional: true } ? K : never }[keyof Row];

/** One recorded row of `user_activity`, as the package builds it: the fields of ACTIVITY_ROW. */
export type ActivityRowFields = { -readonly [K in Exclude<keyof Row, OptionalField>]: ValueOf<Row[K]> } & { -readonly [K in OptionalField]?: ValueOf<Row[K]> };

/** A report row field: an event field, or `createdAt`, which the database sets when it stores the row. */
export type ActivityField = keyof Row | 'createdAt';

/** Columns the database fills itself, shown in report rows after the event's. */
const DATABASE_FILLED = { createdAt: { column: 'created_at', schema: time } } as const;

const ENTRIES = Object.entries(ACTIVITY_ROW) as Array<[keyof Row, ColumnSpec]>;

/** Report field → column, in report order: what report rows and the CSV export show. */
export const REPORT_COLUMNS: Readonly<Record<ActivityField, string>> = Object.freeze(Object.fromEntries([
  ...ENTRIES.map(([field, spec]) => [field, spec.column]),
  ...Object.entries(DATABASE_FILLED).map(([field, spec]) => [field, spec.column]),
]) as Record<ActivityField, string>);

/** The CSV export's header: the report fields in report order. */
export const EXPORT_HEADER: readonly ActivityField[] = Object.freeze(Object.keys(REPORT_COLUMNS) as ActivityField[]);

/** The OpenAPI schema of a report row. */
export function openApiRowSchema(): Record<string, unknown> {
  const properties = Object.fromEntries([
    ...ENTRIES.map(([field, spec]) => [field, spec.schema]),
    ...Object.entries(DATABASE_FILLED).map(([field, spec]) => [field, spec.schema]),
  ]);
  return { type: 'object', required: Object.keys(properties), properties };
}

/** A column the batch writes: its name, the event field it comes from, and its SQL type. */
export interface WrittenColumn {
  readonly column: string;
  readonly field: keyof Row;
  readonly type: SqlType;
}

/** The columns of one encoding version, in the order its record lists them. */
export function chainColumns(version: 1 | 2): WrittenColumn[] {
  return ENTRIES
    .filter(([, spec]) => spec.chain?.[0] === version)
    .sort(([, a], [, b]) => (a.chain?.[1] ?? 0) - (b.chain?.[1] ?? 0))
    .map(([field, spec]) => ({ column: spec.column, field, type: spec.type }));
}

/**
 * Every column a batch writes, in insert order: the chain's version-1 and version-2 columns in
 * encoding order (the order the frozen append functions were generated in), then the columns no
 * encoding covers, in registry order.
 */
export function insertColumns(): WrittenColumn[] {
  const uncovered = ENTRIES.filter(([, spec]) => spec.chain === null).map(([field, spec]) => ({ column: spec.column, field, type: spec.type }));
  return [...chainColumns(1), ...chainColumns(2), ...uncovered];
}

/** The columns the database may set as it stores a row (risk scoring), in chain order. */
export function scoredColumns(): WrittenColumn[] {
  return insertColumns().filter(({ field }) => (ACTIVITY_ROW[field] as ColumnSpec).scored === true);
}
