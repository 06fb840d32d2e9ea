import { ActivityTrackingError } from '../errors';
import { ACTIVITY_TYPES, ACTOR_TYPES, EVENT_STATUSES, SEVERITIES, type ActivityEvent, type ActivityType, type Changes, type RecordInput } from '../types';
import { fieldDiff } from './diff';
import { cleanId } from '../util/ids';
import { systemEvent } from '../store/systemEvent';
import { warnDeprecated } from '../deprecations';
import type { Sanitizer } from './sanitize';
import { MAX_USER_AGENT_LENGTH } from './userAgent';

const MAX_FIELD_LENGTH = 255;
const MAX_REASON_LENGTH = 2000;
const LATEST_TIME = Date.UTC(10000, 0, 1);

/** Turns what an app passes to `record()` into a row, sanitized exactly like a request's. */
export function buildRecordedEvent(given: RecordInput, defaults: Partial<ActivityEvent>, sanitizer: Sanitizer): ActivityEvent {
  if (typeof given !== 'object' || given === null) {
    throw new ActivityTrackingError('ERR_AT_INVALID_EVENT', 'record() takes an object such as { action: "invoice.approved" }');
  }
  const input = withRowNames(given);
  if (typeof input.action !== 'string' || input.action.trim() === '' || input.action.length > MAX_FIELD_LENGTH) {
    throw new ActivityTrackingError('ERR_AT_INVALID_EVENT',
      `Invalid event action ${JSON.stringify(input.action)}. Fix: pass a non-empty string of at most ${MAX_FIELD_LENGTH} characters, such as "invoice.approved"`);
  }
  const activityType: ActivityType = input.activityType ?? 'system_action';
  if (!(ACTIVITY_TYPES as readonly string[]).includes(activityType)) {
    throw new ActivityTrackingError('ERR_AT_INVALID_EVENT',
      `Invalid event activityType ${JSON.stringify(activityType)}. Fix: use one of ${ACTIVITY_TYPES.join(', ')}`);
  }
  if (input.startTime !== undefined && !(input.startTime instanceof Date && input.startTime.getTime() >= 0 && input.startTime.getTime() < LATEST_TIME)) {
    throw new ActivityTrackingError('ERR_AT_INVALID_EVENT',
      `Invalid event startTime ${String(input.startTime)}. Fix: pass a valid Date between 1970 and 9999, or leave it out for now`);
  }
  if (input.success !== undefined && typeof input.success !== 'boolean') {
    throw new ActivityTrackingError('ERR_AT_INVALID_EVENT', `Invalid event success ${JSON.stringify(input.success)}. Fix: pass true or false`);
  }
  checkOneOf(given.actor?.type !== undefined ? 'actor.type' : 'actorType', input.actorType, ACTOR_TYPES);
  checkOneOf('severity', input.severity, SEVERITIES);
  checkOneOf('status', input.status, EVENT_STATUSES);
  if (input.personalData !== undefined && typeof input.personalData !== 'boolean') {
    throw new ActivityTrackingError('ERR_AT_INVALID_EVENT', `Invalid event personalData ${JSON.stringify(input.personalData)}. Fix: pass true or false`);
  }
  if (given.entity !== undefined && (typeof given.entity !== 'object' || given.entity === null || typeof given.entity.type !== 'string' || given.entity.type === '')) {
    throw new ActivityTrackingError('ERR_AT_INVALID_EVENT', 'Invalid event entity. Fix: pass { type, id?, name? } with a non-empty type, or leave it out');
  }
  const startTime = input.startTime ?? new Date();
  // The request's user agent, when the event is linked to one, is sanitized here like any other text.
  const userAgent = input.userAgent ?? defaults.userAgent ?? null;
  const duration = typeof input.duration === 'number' && Number.isFinite(input.duration) && input.duration >= 0 ? input.duration : null;
  const details = input.details === undefined || input.details === null ? null : sanitizer.value(input.details);
  const detailsValue = details === null ? null : (details.value as Record<string, unknown>);
  if (details?.truncated && detailsValue) detailsValue['truncated'] = true;
  const userId = optionalId(input.userId) ?? defaults.userId ?? null;
  const status = input.status ?? (input.success === false ? 'failure' : 'success');
  // Fields an app cannot set (method, path, route, sizes, …) stay empty.
  return systemEvent({
    startTime: startTime.getTime(),
    userId,
    sessionId: optionalId(input.sessionId) ?? defaults.sessionId ?? null,
    activityType,
    entityType: optionalText(input.entityType, sanitizer),
    entityId: optionalText(input.entityId, sanitizer),
    action: sanitizer.text(input.action),
    details: detailsValue,
    ipAddress: optionalText(input.ipAddress, sanitizer) ?? defaults.ipAddress ?? null,
    userAgent: userAgent === null || userAgent === '' ? null : sanitizer.text(userAgent.slice(0, MAX_USER_AGENT_LENGTH)),
    browser: defaults.browser ?? null,
    operatingSystem: defaults.operatingSystem ?? null,
    deviceInfo: defaults.deviceInfo ?? null,
    location: defaults.location ?? null,
    duration,
    endTime: duration === null ? null : startTime.getTime() + duration,
    success: input.success ?? status !== 'failure',
    actorType: input.actorType ?? (userId === null ? 'system' : 'user'),
    actorRole: optionalText(input.actorRole, sanitizer),
    actorName: optionalText(input.actorName, sanitizer),
    category: optionalText(input.category, sanitizer),
    severity: input.severity ?? null,
    entityName: optionalText(input.entityName, sanitizer),
    tenantId: optionalId(input.tenantId) ?? defaults.tenantId ?? null,
    ownerId: optionalId(input.ownerId),
    status,
    reason: input.reason === undefined || input.reason === null || input.reason === '' ? null : sanitizer.text(String(input.reason).slice(0, MAX_REASON_LENGTH)),
    changes: changesOf(input, sanitizer),
    personalData: input.personalData ?? null,
  });
}

/**
 * The input in the row's names: the deprecated `actor`, `entity` and `metadata` (each warned about
 * once) are read into userId/actorType/actorRole/actorName, entityType/entityId/entityName and
 * details, winning over those as they always have.
 */
function withRowNames(input: RecordInput): RecordInput {
  const { actor, entity, metadata } = input;
  if (actor === undefined && entity === undefined && metadata === undefined) return input;
  const out: RecordInput = { ...input };
  if (actor !== undefined && actor !== null) {
    warnDeprecated('AT_DEP_RECORD_ACTOR');
    if (typeof actor === 'object') {
      out.userId = actor.id ?? input.userId;
      if (actor.type !== undefined) out.actorType = actor.type;
      out.actorRole = actor.role ?? input.actorRole;
      out.actorName = actor.name ?? input.actorName;
    }
  }
  if (entity !== undefined) {
    warnDeprecated('AT_DEP_RECORD_ENTITY');
    if (typeof entity === 'object' && entity !== null) {
      out.entityType = entity.type ?? input.entityType;
      out.entityId = entity.id ?? input.entityId;
      out.entityName = entity.name ?? input.entityName;
    }
  }
  if (metadata !== undefined) {
    warnDeprecated('AT_DEP_RECORD_METADATA');
    out.details = metadata ?? input.details;
  }
  return out;
}

/** Before and after, sanitized like everything else, with the fields that changed between them. */
function changesOf(input: RecordInput, sanitizer: Sanitizer): Changes | null {
  if (input.before === undefined && input.after === undefined) return null;
  const before = input.before === undefined ? null : sanitizer.value(input.before).value;
  const after = input.after === undefined ? null : sanitizer.value(input.after).value;
  return { before, after, diff: fieldDiff(before, after) };
}

function checkOneOf(name: string, value: unknown, allowed: readonly string[]): void {
  if (value !== undefined && !allowed.includes(value as string)) {
    throw new ActivityTrackingError('ERR_AT_INVALID_EVENT', `Invalid event ${name} ${JSON.stringify(value)}. Fix: use one of ${allowed.join(', ')}`);
  }
}

/** Ids are escaped and capped like every recorded id, never searched for secrets: reports filter by them as given (see cleanId). */
function optionalId(value: string | number | null | undefined): string | null {
  if (value === undefined || value === null || value === '') return null;
  return cleanId(value);
}

function optionalText(value: string | number | null | undefined, sanitizer: Sanitizer): string | null {
  if (value === undefined || value === null || value === '') return null;
  return sanitizer.text(String(value).slice(0, MAX_FIELD_LENGTH));
}
