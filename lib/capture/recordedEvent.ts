import { ActivityTrackingError } from '../errors';
import { ACTIVITY_TYPES, ACTOR_TYPES, EVENT_STATUSES, SEVERITIES, type ActivityEvent, type ActivityType, type Changes, type RecordInput } from '../types';
import { fieldDiff } from './diff';
import { cleanId, uuidv7 } from '../util/ids';
import type { Sanitizer } from './sanitize';
import { MAX_USER_AGENT_LENGTH } from './userAgent';

const MAX_FIELD_LENGTH = 255;
const MAX_REASON_LENGTH = 2000;
const LATEST_TIME = Date.UTC(10000, 0, 1);

/** Turns what an app passes to `record()` into a row, sanitized exactly like a request's. */
export function buildRecordedEvent(input: RecordInput, defaults: Partial<ActivityEvent>, sanitizer: Sanitizer): ActivityEvent {
  if (typeof input !== 'object' || input === null) {
    throw new ActivityTrackingError('ERR_AT_INVALID_EVENT', 'record() takes an object such as { action: "invoice.approved" }');
  }
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
  checkOneOf('actor.type', input.actor?.type, ACTOR_TYPES);
  checkOneOf('severity', input.severity, SEVERITIES);
  checkOneOf('status', input.status, EVENT_STATUSES);
  if (input.personalData !== undefined && typeof input.personalData !== 'boolean') {
    throw new ActivityTrackingError('ERR_AT_INVALID_EVENT', `Invalid event personalData ${JSON.stringify(input.personalData)}. Fix: pass true or false`);
  }
  if (input.entity !== undefined && (typeof input.entity !== 'object' || input.entity === null || typeof input.entity.type !== 'string' || input.entity.type === '')) {
    throw new ActivityTrackingError('ERR_AT_INVALID_EVENT', 'Invalid event entity. Fix: pass { type, id?, name? } with a non-empty type, or leave it out');
  }
  const startTime = input.startTime ?? new Date();
  // The request's user agent, when the event is linked to one, is sanitized here like any other text.
  const userAgent = input.userAgent ?? defaults.userAgent ?? null;
  const duration = typeof input.duration === 'number' && Number.isFinite(input.duration) && input.duration >= 0 ? input.duration : null;
  const given = input.metadata ?? input.details;
  const details = given === undefined || given === null ? null : sanitizer.value(given);
  const detailsValue = details === null ? null : (details.value as Record<string, unknown>);
  if (details?.truncated && detailsValue) detailsValue['truncated'] = true;
  const userId = optionalId(input.actor?.id ?? input.userId) ?? defaults.userId ?? null;
  const status = input.status ?? (input.success === false ? 'failure' : 'success');
  return {
    id: uuidv7(startTime.getTime()),
    userId,
    sessionId: optionalId(input.sessionId) ?? defaults.sessionId ?? null,
    activityType,
    entityType: optionalText(input.entity?.type ?? input.entityType, sanitizer),
    entityId: optionalText(input.entity?.id ?? input.entityId, sanitizer),
    action: sanitizer.text(input.action),
    details: detailsValue,
    ipAddress: optionalText(input.ipAddress, sanitizer) ?? defaults.ipAddress ?? null,
    userAgent: userAgent === null || userAgent === '' ? null : sanitizer.text(userAgent.slice(0, MAX_USER_AGENT_LENGTH)),
    browser: defaults.browser ?? null,
    operatingSystem: defaults.operatingSystem ?? null,
    deviceInfo: defaults.deviceInfo ?? null,
    location: defaults.location ?? null,
    duration,
    startTime: startTime.getTime(),
    endTime: duration === null ? null : startTime.getTime() + duration,
    method: null,
    path: null,
    route: null,
    statusCode: null,
    success: input.success ?? status !== 'failure',
    requestSize: null,
    responseSize: null,
    actorType: input.actor?.type ?? (userId === null ? 'system' : 'user'),
    actorRole: optionalText(input.actor?.role, sanitizer),
    actorName: optionalText(input.actor?.name, sanitizer),
    category: optionalText(input.category, sanitizer),
    severity: input.severity ?? null,
    entityName: optionalText(input.entity?.name, sanitizer),
    tenantId: optionalId(input.tenantId) ?? defaults.tenantId ?? null,
    ownerId: optionalId(input.ownerId),
    status,
    reason: input.reason === undefined || input.reason === null || input.reason === '' ? null : sanitizer.text(String(input.reason).slice(0, MAX_REASON_LENGTH)),
    changes: changesOf(input, sanitizer),
    personalData: input.personalData ?? null,
  };
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
