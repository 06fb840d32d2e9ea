import type { ActivityEvent } from '../types';
import { systemEvent } from '../store/systemEvent';
import type { SessionNote } from './session';

/**
 * The row that records, beside the request that caused it, that the app's own session id (or
 * bearer token) of a visit appeared or changed: who, which visit, from where, on which request.
 * Both ids are hashes (the app's session id is a credential); `from` is null for `session.linked`.
 */
export function sessionNoteEvent(request: ActivityEvent, note: SessionNote): ActivityEvent {
  const event = systemEvent({
    userId: request.userId,
    sessionId: request.sessionId,
    action: note.action,
    details: { appSession: { kind: note.kind, from: note.from, to: note.to } },
    ipAddress: request.ipAddress,
    userAgent: request.userAgent,
    browser: request.browser,
    operatingSystem: request.operatingSystem,
    deviceInfo: request.deviceInfo,
    location: request.location,
    startTime: request.startTime,
    endTime: request.startTime,
    duration: 0,
    method: request.method,
    path: request.path,
    route: request.route,
    statusCode: request.statusCode,
    success: true,
  });
  if (request.tenantId !== undefined) event.tenantId = request.tenantId;
  return event;
}
