import { ACTIVITY_TYPES, ACTOR_TYPES, SEVERITIES } from '../../types';
import { MAX_LIMIT, DEFAULT_LIMIT } from '../params';
import { ORDER_BY_NAMES } from '../../store/reports/filters';
import { COUNT_CAP } from '../../store/reports/activities';
import { SUSPICIOUS_RULES } from '../../store/reports/suspicious';
import { CHECKPOINT_STATUSES, INTEGRITY_PROBLEMS } from '../../integrity/verify';
import { ALERT_RULES } from '../../types';
import { openApiRowSchema } from '../../store/columns';

const SUSPICIOUS_RULE_NAMES: string[] = [...SUSPICIOUS_RULES];

/**
 * The OpenAPI 3.1 document of the report routes. Its schemas are what the tests validate real
 * responses against, so the document cannot drift from the code.
 */
export function openApiDocument(): Record<string, unknown> {
  return DOCUMENT;
}

const str = { type: 'string' };
const nullableStr = { type: ['string', 'null'] };
const num = { type: 'number' };
const nullableNum = { type: ['number', 'null'] };
const int = { type: 'integer' };
const time = { type: 'string', format: 'date-time' };
const nullableTime = { type: ['string', 'null'], format: 'date-time' };
const activityType = { type: 'string', enum: [...ACTIVITY_TYPES] };
const anyJson = {};
const counted = (key: string, schema: object = nullableStr) => ({
  type: 'array',
  items: { type: 'object', required: [key, 'count'], properties: { [key]: schema, count: int } },
});
const object = (properties: Record<string, object>, required = Object.keys(properties)) => ({ type: 'object', required, properties });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const period = object({ startDate: time, endDate: time });
const pagination = object({ total: int, limit: int, offset: int, totalIsLowerBound: { type: 'boolean', description: `Present and true when more than ${COUNT_CAP} rows match: total is then ${COUNT_CAP}` } }, ['total', 'limit', 'offset']);

const activityPagination = {
  ...pagination,
  required: [...pagination.required, 'nextCursor'],
  properties: {
    ...pagination.properties,
    nextCursor: { type: ['string', 'null'], description: 'Give as `after` (with the same orderBy and order) for the next page; null on the last page, and when sorting by a column other than startTime or createdAt (page with offset then)' },
  },
};
const chainLink = object({ position: int, prevHash: str, rowHash: str, hashVersion: { type: ['integer', 'null'] } });
const verification = object({
  ok: { type: 'boolean' },
  rowsChecked: int,
  verifiedFrom: { type: ['integer', 'null'], description: 'First kept chain position (after the last retention run); null when no row was found intact' },
  verifiedTo: { type: ['integer', 'null'], description: 'Last chain position found intact' },
  headHash: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'row_hash at verifiedTo: what the next row must link to' },
  checkpoint: {
    ...object({ position: int, hash: str, createdAt: time, status: { type: 'string', enum: [...CHECKPOINT_STATUSES] } }),
    description: 'With a checkpoint signed with the configured key, how it compared with the chain; key_mismatch: signed with another key, not compared (its fields are then what it claims)',
  },
  failure: object({
    position: { type: ['integer', 'null'] },
    problem: { type: 'string', enum: [...INTEGRITY_PROBLEMS], description: 'checkpoint_key_mismatch comes only with an intact chain: a problem in the chain is reported first' },
    message: str,
  }),
}, ['ok', 'rowsChecked', 'verifiedFrom', 'verifiedTo', 'headHash']);
const integrityRun = object({
  id: str, status: { type: 'string', enum: ['running', 'done', 'failed'] }, userId: str, startedAt: time, finishedAt: nullableTime,
  rowsChecked: int, position: { type: ['integer', 'null'], description: 'The last chain position read so far' },
  headPosition: { type: ['integer', 'null'], description: 'The chain\'s last position when the run started, or the last read if rows came after it' },
  result: verification, error: { ...str, description: 'Why the run could not finish; the chain was not judged' },
}, ['id', 'status', 'userId', 'startedAt', 'finishedAt', 'rowsChecked', 'position', 'headPosition']);

const query = (name: string, description: string, schema: object = { type: 'string', maxLength: 256 }) => ({ name, in: 'query', required: false, description, schema });
const dateParams = [
  query('startDate', 'ISO 8601 date or date-time (UTC when no zone); inclusive', { type: 'string', maxLength: 40 }),
  query('endDate', 'ISO 8601 date or date-time; inclusive; not before startDate', { type: 'string', maxLength: 40 }),
];
const filterParams = [
  query('userId', 'Only this user', { type: 'string', maxLength: 256, pattern: '^[A-Za-z0-9_.@:+\\-|/=~#\\\\]+$' }),
  query('sessionId', 'Only this session', { type: 'string', maxLength: 128, pattern: '^[A-Za-z0-9_.@:+\\-|/=~#\\\\]+$' }),
  query('activityType', 'One or more activity types, repeated or comma separated', { type: 'string', maxLength: 400 }),
  query('entityType', 'Only this kind of entity', { type: 'string', maxLength: 128 }),
  query('entityId', 'Only this entity id', { type: 'string', maxLength: 256 }),
  ...dateParams,
  query('ipAddress', 'Only this client IP', { type: 'string', maxLength: 45 }),
  query('success', 'true or false', { type: 'string', enum: ['true', 'false'] }),
  query('action', 'Only this action, e.g. certification.approved or authn_login_fail', { type: 'string', maxLength: 255 }),
  query('actorType', 'Only this kind of actor', { type: 'string', enum: [...ACTOR_TYPES] }),
  query('category', 'Only this category of domain event', { type: 'string', maxLength: 255 }),
];
const domainFilterParams = filterParams.slice(-3);
const pageParams = [
  query('limit', `Rows per page, 1 to ${MAX_LIMIT}`, { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT }),
  query('offset', 'Rows to skip', { type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 }),
];

const errorResponses = {
  400: { description: 'A parameter is invalid; `param` names it', content: { 'application/json': { schema: ref('Error') } } },
  401: { description: 'No valid bearer token', content: { 'application/json': { schema: ref('Error') } } },
  403: { description: 'The caller role may not use this route; or, in an app with tenants, the token names no tenant (claim tenantId, tenant_id or tid); or a tenant-scoped admin asked for /integrity or /health', content: { 'application/json': { schema: ref('Error') } } },
};
const json = (schema: object, description = 'OK') => ({ 200: { description, content: { 'application/json': { schema } } }, ...errorResponses });
const get = (summary: string, parameters: object[], responses: object) => ({ get: { summary, security: [{ bearer: [] }], parameters, responses } });

const DOCUMENT: Record<string, unknown> = {
  openapi: '3.1.0',
  info: {
    title: 'express-activity-tracking report routes',
    version: '0.2.0',
    description: 'Read the activity trail. Roles: system_admin and admin everything; auditor and manager read everything; any other signed-in user only /me/*. A token with a tenant claim (tenantId, tenant_id or tid) reads only rows of its tenant and rows about entities its tenant owns; system_admin reads every tenant. Every read is itself recorded.',
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    schemas: {
      Error: object({ error: object({ code: str, message: str, param: str }, ['code', 'message']) }),
      Activity: openApiRowSchema(),
      Alert: object({
        id: str, rule: { type: 'string', enum: [...ALERT_RULES] }, key: { ...str, description: 'What the rule counted by: an IP, an account, a user, global, a tenant, ip:<ip> or account:<id>' },
        severity: { type: 'string', enum: [...SEVERITIES] }, tenantId: nullableStr, windowStart: time, windowEnd: time,
        count: int, firstSeen: time, lastSeen: time, summary: str, details: { type: 'object' }, createdAt: time,
        status: { type: 'string', enum: ['open', 'acknowledged'] },
        acknowledgements: { type: 'array', items: object({ id: str, alertId: str, acknowledgedBy: str, note: nullableStr, createdAt: time }) },
      }),
      Session: object({
        sessionId: str, userId: nullableStr, deviceInfo: { type: ['object', 'null'] }, ipAddress: nullableStr, userAgent: nullableStr,
        startTime: time, lastActivity: time, pageViews: int, actionsCount: int,
        users: { type: 'array', description: 'Who the visit was, in order: each user (null while signed out) with their first and latest activity in it', items: object({ userId: nullableStr, firstSeen: time, lastSeen: time }) },
        browser: { ...nullableStr, description: 'The browser of the session\'s latest request' }, operatingSystem: nullableStr,
        location: { type: ['object', 'null'], description: 'The location of the session\'s latest request' },
      }),
    },
  },
  paths: {
    '/activities': get('Filtered activities, newest first by default', [
      ...filterParams, ...pageParams,
      query('orderBy', 'Sort column, by field name or column name', { type: 'string', enum: [...ORDER_BY_NAMES], default: 'startTime' }),
      query('order', 'Sort direction', { type: 'string', enum: ['asc', 'desc'], default: 'desc' }),
      query('after', 'Keyset paging: the nextCursor of the page before (offset must then be 0)', { type: 'string', maxLength: 400 }),
    ], json(object({ data: { type: 'array', items: ref('Activity') }, pagination: activityPagination }))),
    '/activities/{id}': get('One activity, with its place in the hash chain', [
      { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
    ], json(object({ data: { allOf: [ref('Activity'), object({ chain: chainLink })] } }))),
    '/live': {
      get: {
        summary: 'New activities as Server-Sent Events, as they are stored (the console\'s live mode): event ready {position}, then one event activity per row (an Activity with chainPosition), in chain order; Last-Event-ID resumes after a row',
        security: [{ bearer: [] }],
        parameters: filterParams.filter((param) => param.name !== 'startDate' && param.name !== 'endDate'),
        responses: {
          200: { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          ...errorResponses,
          429: { description: 'The caller holds liveStreams.perUser streams already', content: { 'application/json': { schema: ref('Error') } } },
        },
      },
    },
    '/console/session': get('Who the caller is, and which console views to offer (every signed-in user)', [], json(object({
      data: object({ userId: str, role: str, tenantId: nullableStr, access: object({ reader: { type: 'boolean' }, admin: { type: 'boolean' }, platform: { type: 'boolean' } }) }),
    }))),
    '/stats': get('Statistics of a period (default: the last 7 days)', [...dateParams, filterParams[0] as object, filterParams[2] as object, ...domainFilterParams], json(object({
      data: object({
        totalActivities: int, uniqueUsers: int, uniqueSessions: int, totalDuration: num, averageDuration: nullableNum, errorRate: num,
        byType: counted('activityType', activityType), byHour: counted('hour', int), topPages: counted('path'), topUsers: counted('userId', str),
        byDevice: counted('deviceType'), byBrowser: counted('browser'), byOperatingSystem: counted('operatingSystem'), byLocation: counted('country'),
        byAction: counted('action', str), byActorType: counted('actorType'),
      }),
      period,
    }))),
    '/sessions/active': get('Sessions active now', [...pageParams, filterParams[0] as object], json(object({ data: { type: 'array', items: ref('Session') }, pagination }))),
    '/suspicious': get('Activity matching a suspicion rule (default: the last 24 hours)', [
      ...dateParams, pageParams[0] as object,
      query('rule', 'Only this rule', { type: 'string', enum: SUSPICIOUS_RULE_NAMES }),
    ], json(object({
      data: {
        type: 'array',
        items: object({
          rule: { type: 'string', enum: SUSPICIOUS_RULE_NAMES, description: 'The first rule matched' }, rules: { type: 'array', items: { type: 'string', enum: SUSPICIOUS_RULE_NAMES }, description: 'Every rule the activity matched: an activity is listed once' }, activityId: nullableStr, userId: nullableStr, ipAddress: nullableStr, startTime: time,
          activityType, path: nullableStr, statusCode: { type: ['integer', 'null'] }, duration: nullableNum, responseSize: { type: ['integer', 'null'] },
          count: { type: ['integer', 'null'] }, windowStart: nullableTime, windowEnd: nullableTime,
        }),
      },
      summary: object({ byRule: { type: 'object', additionalProperties: int } }),
      thresholds: object({ slowRequestMs: int, largeResponseBytes: int, failedLoginThreshold: int, failedLoginWindowMinutes: int }),
      period,
    }))),
    '/entities/{entityType}/{entityId}/audit-trail': get('Every recorded action on one entity, oldest first', [
      { name: 'entityType', in: 'path', required: true, schema: { type: 'string', maxLength: 128 } },
      { name: 'entityId', in: 'path', required: true, schema: { type: 'string', maxLength: 256 } },
      ...dateParams, ...pageParams,
    ], json(object({
      data: {
        type: 'array',
        items: object({
          id: str, time, userId: nullableStr, actor: { ...nullableStr, deprecated: true, description: 'The same as userId; removed in the next minor version' }, actorType: nullableStr, actorName: nullableStr, status: nullableStr, action: nullableStr, activityType,
          method: nullableStr, path: nullableStr, statusCode: { type: ['integer', 'null'] },
          success: { type: 'boolean' }, ipAddress: nullableStr, before: anyJson, after: anyJson, diff: anyJson, reason: anyJson,
        }),
      },
      entity: object({ entityType: str, entityId: str }),
      pagination,
    }))),
    '/export': get('The /activities filters as a CSV download, streamed; formula cells neutralized; rate limited per user', [
      ...filterParams, query('order', 'Sort direction by time', { type: 'string', enum: ['asc', 'desc'], default: 'desc' }),
    ], {
      200: { description: 'CSV attachment', content: { 'text/csv': { schema: { type: 'string' } } } },
      429: { description: 'Too many exports; see Retry-After', content: { 'application/json': { schema: ref('Error') } } },
      ...errorResponses,
    }),
    '/compliance-report': get('Compliance report of a period (at most 366 days; by default the last 30 days up to now)', [
      { ...dateParams[0], description: 'ISO 8601 date or date-time (UTC when no zone); inclusive; default: 30 days before endDate' },
      { ...dateParams[1], description: 'ISO 8601 date or date-time; inclusive; not before startDate; default: now' },
      query('format', 'json or csv', { type: 'string', enum: ['json', 'csv'], default: 'json' }),
    ], json(object({
      data: object({
        period, generatedAt: time, activityByType: counted('activityType', activityType),
        authentication: object({
          logins: int, logouts: int, failedLogins: int, tokenRefreshes: int,
          topFailingIps: { type: 'array', items: object({ ipAddress: nullableStr, failures: int }) },
          topFailingAccounts: { type: 'array', items: object({ userId: str, failures: int }) },
        }),
        privilegedActions: object({
          rule: str, count: int,
          items: { type: 'array', items: object({ userId: nullableStr, activityType, action: nullableStr, path: nullableStr, time }) },
        }),
        trailAccess: { type: 'array', items: object({ userId: nullableStr, activityType: { type: 'string', enum: ['audit_read', 'audit_export'] }, route: nullableStr, time }) },
        sessions: object({ started: int, distinctUsers: int }),
        errorRate: num,
        retention: object({ retentionDays: int, oldestRecord: nullableTime }),
      }),
    }))),
    '/integrity': get('Verify the hash chain of the whole trail: every kept row unchanged, none missing, none moved (system_admin and admin only; takes time in proportion to the trail); with checkpoint, also that the chain still holds it', [
      query('checkpoint', 'The JSON of a checkpoint file (activity-tracking checkpoint), URL-encoded; checked with the ACTIVITY_CHECKPOINT_* keys of the app\'s environment', { type: 'string', maxLength: 2000 }),
    ], json(object({ data: verification }))),
    '/integrity/runs': {
      ...get('The verification running in this instance, if any, and the last verifications on the trail (integrity.verified events of every instance), newest first', [], json(object({
        data: object({ current: { ...integrityRun, type: ['object', 'null'] }, recent: { type: 'array', items: { type: 'object', required: ['at', 'userId', 'runId', 'status'] } } }),
      }))),
      post: {
        summary: 'Start a verification of the chain in the background (as GET /integrity; the console\'s progress bar follows it); its result is put on the trail as integrity.verified',
        security: [{ bearer: [] }],
        parameters: [],
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { checkpoint: { type: 'object', description: 'The JSON of a checkpoint file' } } } } } },
        responses: {
          202: { description: 'Started', content: { 'application/json': { schema: object({ data: integrityRun }) } } },
          ...errorResponses,
          409: { description: 'A verification is running in this instance; the message names it', content: { 'application/json': { schema: ref('Error') } } },
        },
      },
    },
    '/integrity/runs/{id}': get('A verification started here: its progress, then its result', [
      { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
    ], json(object({ data: integrityRun }))),
    '/health': (() => {
      const body = object({
        data: object({
          status: { type: 'string', enum: ['ok', 'degraded', 'failing'], description: 'failing: the database does not answer or events were dropped; degraded: events wait in the journal, lag over a minute, the last write failed, or row-level security was asked for and does not bind' },
          database: object({ reachable: { type: 'boolean' }, latencyMs: int, error: nullableStr }),
          writePath: object({
            queued: int, journalPending: int, journalBytes: int, written: int, retried: int, journaled: int, replayed: int, rejected: int, torn: int, dropped: int,
            lastError: nullableStr, lastErrorAt: nullableTime, lagMs: int, databaseAvailable: { type: 'boolean' },
          }),
          rowLevelSecurity: {
            type: ['object', 'null'], required: ['enforced', 'reasons'],
            properties: { enforced: { type: 'boolean' }, reasons: { type: 'array', items: { type: 'string' } } },
            description: 'Only with the rowLevelSecurity option: whether the policies bind this connection, and why not (null while the database does not answer)',
          },
        }, ['status', 'database', 'writePath']),
      });
      const route = get('The write path\'s health: a live probe of the database and the recorder\'s counters (system_admin and admin only)', [], json(body));
      return { get: { ...route.get, responses: { ...route.get.responses, 503: { description: 'failing', content: { 'application/json': { schema: body } } } } } };
    })(),
    '/alerts': get('Alerts the alert rules created, newest window first, with their status and acknowledgements (a tenant\'s callers see their tenant\'s)', [
      query('rule', 'Only this rule', { type: 'string', enum: [...ALERT_RULES] }),
      query('severity', 'Only this severity', { type: 'string', enum: [...SEVERITIES] }),
      query('status', 'open (no acknowledgement yet) or acknowledged', { type: 'string', enum: ['open', 'acknowledged'] }),
      query('key', 'Only this key (an IP, an account, ip:<ip>, account:<id>, global, a tenant)', { type: 'string', maxLength: 300, pattern: '^[A-Za-z0-9_.@:+\\-|/=~#\\\\]+$' }),
      query('startDate', 'Windows starting at or after this ISO 8601 date or date-time', { type: 'string', maxLength: 40 }),
      query('endDate', 'Windows starting at or before this ISO 8601 date or date-time', { type: 'string', maxLength: 40 }),
      ...pageParams,
    ], json(object({ data: { type: 'array', items: ref('Alert') }, pagination }))),
    '/alerts/{id}/acknowledge': {
      post: {
        summary: 'Acknowledge an alert (system_admin and admin only): adds an acknowledgement; acknowledging again adds another',
        security: [{ bearer: [] }],
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { note: { type: 'string', maxLength: 1000 } } } } } },
        responses: {
          201: { description: 'Acknowledged; the alert with every acknowledgement', content: { 'application/json': { schema: object({ data: ref('Alert') }) } } },
          ...errorResponses,
          404: { description: 'No alert with this id in the caller\'s scope', content: { 'application/json': { schema: ref('Error') } } },
        },
      },
    },
    '/me/sessions': get('The caller\'s own sessions, newest first', pageParams, json(object({ data: { type: 'array', items: ref('Session') }, pagination }))),
    '/me/summary': get('The caller\'s own activity summary (default: the last 30 days)', dateParams, json(object({
      data: object({ userId: str, period, totalActivities: int, sessions: int, byType: counted('activityType', activityType), lastActivity: nullableTime, errorCount: int, averageDuration: nullableNum }),
    }))),
    '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } } } },
  },
};
