import { ACTIVITY_ROW, chainColumns, EXPORT_HEADER, insertColumns, openApiRowSchema, REPORT_COLUMNS } from '../lib/store/columns';
import { systemEvent } from '../lib/store/systemEvent';
import { ACTIVITY_TYPES, ACTOR_TYPES, EVENT_STATUSES, SEVERITIES } from '../lib/types';

// What the registry must reproduce: the chain encodings are frozen with the migrations that
// installed their hash functions, and the report row, export header and OpenAPI schema are public.

const V1_ENCODING = [
  'id', 'user_id', 'session_id', 'activity_type', 'entity_type', 'entity_id', 'action', 'details', 'ip_address', 'user_agent',
  'browser', 'operating_system', 'device_info', 'location', 'duration', 'start_time', 'end_time', 'method', 'path', 'route',
  'status_code', 'success', 'request_size', 'response_size',
];
const V2_ENCODING = [
  'actor_type', 'actor_role', 'actor_name', 'category', 'severity', 'entity_name', 'tenant_id', 'owner_id', 'status', 'reason',
  'changes', 'personal_data', 'risk_score', 'risk_factors', 'anomaly',
];
const PUBLISHED_REPORT_ROW = {
  id: 'id', startTime: 'start_time', endTime: 'end_time', userId: 'user_id', sessionId: 'session_id', activityType: 'activity_type',
  action: 'action', entityType: 'entity_type', entityId: 'entity_id', method: 'method', path: 'path', route: 'route',
  statusCode: 'status_code', success: 'success', duration: 'duration', ipAddress: 'ip_address', userAgent: 'user_agent',
  browser: 'browser', operatingSystem: 'operating_system', deviceInfo: 'device_info', location: 'location',
  requestSize: 'request_size', responseSize: 'response_size', details: 'details', actorType: 'actor_type', actorRole: 'actor_role',
  actorName: 'actor_name', category: 'category', severity: 'severity', entityName: 'entity_name', tenantId: 'tenant_id',
  ownerId: 'owner_id', status: 'status', reason: 'reason', changes: 'changes', personalData: 'personal_data',
  riskScore: 'risk_score', riskFactors: 'risk_factors', anomaly: 'anomaly', createdAt: 'created_at',
};
const str = { type: 'string' };
const nullableStr = { type: ['string', 'null'] };
const time = { type: 'string', format: 'date-time' };
const PUBLISHED_ROW_SCHEMA_PROPERTIES = {
  id: str, startTime: time, endTime: { type: ['string', 'null'], format: 'date-time' }, userId: nullableStr, sessionId: nullableStr,
  activityType: { type: 'string', enum: [...ACTIVITY_TYPES] }, action: nullableStr,
  entityType: nullableStr, entityId: nullableStr, method: nullableStr, path: nullableStr, route: nullableStr, statusCode: { type: ['integer', 'null'] },
  success: { type: 'boolean' }, duration: { type: ['number', 'null'] }, ipAddress: nullableStr, userAgent: nullableStr, browser: nullableStr, operatingSystem: nullableStr,
  deviceInfo: { type: ['object', 'null'] }, location: { type: ['object', 'null'] }, requestSize: { type: ['integer', 'null'] },
  responseSize: { type: ['integer', 'null'] }, details: { type: ['object', 'null'] },
  actorType: { type: ['string', 'null'], enum: [...ACTOR_TYPES, null] }, actorRole: nullableStr, actorName: nullableStr, category: nullableStr,
  severity: { type: ['string', 'null'], enum: [...SEVERITIES, null] }, entityName: nullableStr, tenantId: nullableStr, ownerId: nullableStr,
  status: { type: ['string', 'null'], enum: [...EVENT_STATUSES, null] }, reason: nullableStr,
  changes: { type: ['object', 'null'], description: 'A domain event\'s sanitized { before, after, diff: [{ path, before, after }] }' },
  personalData: { type: ['boolean', 'null'] }, riskScore: { type: ['number', 'null'], minimum: 0, maximum: 1 },
  riskFactors: { type: ['array', 'null'], items: str }, anomaly: { type: ['boolean', 'null'] }, createdAt: time,
};

describe('the column registry', () => {
  it('gives each chain encoding version its frozen columns, in their frozen order, with no place used twice', () => {
    expect(chainColumns(1).map((c) => c.column)).toEqual(V1_ENCODING);
    expect(chainColumns(2).map((c) => c.column)).toEqual(V2_ENCODING);
    for (const version of [1, 2] as const) {
      const places = Object.values(ACTIVITY_ROW).filter((spec) => spec.chain?.[0] === version).map((spec) => spec.chain![1]).sort((a, b) => a - b);
      expect(places).toEqual(places.map((_p, i) => i));
    }
  });

  it('writes every event field, the chain-covered ones first in encoding order, each from the field of its name', () => {
    const written = insertColumns();
    expect(written.map((c) => c.column)).toEqual([...V1_ENCODING, ...V2_ENCODING]);
    expect(new Set(written.map((c) => c.field))).toEqual(new Set(Object.keys(ACTIVITY_ROW)));
    for (const { column, field } of written) expect(column).toBe(field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
  });

  it('maps report rows, the export header and the OpenAPI row schema as they are published', () => {
    expect(REPORT_COLUMNS).toEqual(PUBLISHED_REPORT_ROW);
    expect(Object.keys(REPORT_COLUMNS)).toEqual(Object.keys(PUBLISHED_REPORT_ROW));
    expect(EXPORT_HEADER).toEqual(Object.keys(PUBLISHED_REPORT_ROW));
    const schema = openApiRowSchema();
    expect(schema).toEqual({ type: 'object', required: Object.keys(PUBLISHED_ROW_SCHEMA_PROPERTIES), properties: PUBLISHED_ROW_SCHEMA_PROPERTIES });
    expect(Object.keys(schema['properties'] as object)).toEqual(Object.keys(PUBLISHED_REPORT_ROW));
  });
});

describe('systemEvent', () => {
  it('fills every field an event must carry, and only those, with defaults for a system action', () => {
    const before = Date.now();
    const event = systemEvent({ action: 'retention.removed' });
    const required = Object.entries(ACTIVITY_ROW).filter(([, spec]) => !('optional' in spec)).map(([field]) => field);
    expect(Object.keys(event).sort()).toEqual(required.sort());
    expect(event).toMatchObject({ action: 'retention.removed', activityType: 'system_action', success: true, userId: null, method: null, details: null });
    expect(event.startTime).toBeGreaterThanOrEqual(before);
    expect(event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('keeps what it is given, and takes its id\'s time from the event\'s', () => {
    const event = systemEvent({ id: 'given', startTime: 5, success: false, activityType: 'error', tenantId: 't' });
    expect(event).toMatchObject({ id: 'given', startTime: 5, success: false, activityType: 'error', tenantId: 't' });
    const at = Date.UTC(2026, 0, 1);
    expect(parseInt(systemEvent({ startTime: at }).id.replace('-', '').slice(0, 12), 16)).toBe(at);
  });
});
