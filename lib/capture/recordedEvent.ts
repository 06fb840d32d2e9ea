import { ActivityTrackingError } from '../errors';
import { ACTIVITY_TYPES, type ActivityEvent, type ActivityType, type RecordInput } from '../types';
import { uuidv7 } from './ids';
import type { Sanitizer } from './sanitize';
import { MAX_USER_AGENT_LENGTH } from './userAgent';

const MAX_FIELD_LENGTH = 255;
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
  const startTime = input.startTime ?? new Date();
  // The request's user agent, when the event is linked to one, is sanitized here like any other text.
  const userAgent = input.userAgent ?? defaults.userAgent ?? null;
  const duration = typeof input.duration === 'number' && Number.isFinite(input.duration) && input.duration >= 0 ? input.duration : null;
  const details = input.details === undefined || input.details === null ? null : sanitizer.value(input.details);
  const detailsValue = details === null ? null : (details.value as Record<string, unknown>);
  if (details?.truncated && detailsValue) detailsValue['truncated'] = true;
  return {
    id: uuidv7(startTime.getTime()),
    userId: optionalText(input.userId, sanitizer) ?? defaults.userId ?? null,
    sessionId: optionalText(input.sessionId, sanitizer) ?? defaults.sessionId ?? null,
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
    startTime: startTime.getTime(),
    endTime: duration === null ? null : startTime.getTime() + duration,
    method: null,
    path: null,
    route: null,
    statusCode: null,
    success: input.success ?? true,
    requestSize: null,
    responseSize: null,
  };
}

function optionalText(value: string | number | null | undefined, sanitizer: Sanitizer): string | null {
  if (value === undefined || value === null || value === '') return null;
  return sanitizer.text(String(value).slice(0, MAX_FIELD_LENGTH));
}
