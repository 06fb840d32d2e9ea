import type { Knex } from 'knex';
import type { ActivityEvent } from '../types';

/** What the recorder writes through; one call is one transaction. */
export interface ActivityStore {
  writeBatch(events: readonly ActivityEvent[]): Promise<void>;
}

interface SessionDelta {
  session_id: string;
  user_id: string | null;
  start_time: Date;
  last_activity: Date;
  page_views: number;
  actions_count: number;
  ip_address: string | null;
  user_agent: string | null;
  device_info: string | null;
}

/** Requests belong to sessions; the lifecycle rows themselves do not count as activity in one. */
const NOT_COUNTED_IN_SESSION = new Set(['session_start', 'session_end']);

export class KnexActivityStore implements ActivityStore {
  constructor(private readonly knex: Knex) {}

  async writeBatch(events: readonly ActivityEvent[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map(toRow);
    const sessions = sessionDeltas(events);
    await this.knex.transaction(async (trx) => {
      // A replayed event keeps its id, so writing it twice stores it once.
      await trx('user_activity').insert(rows).onConflict('id').ignore();
      if (sessions.length > 0) await upsertSessions(trx, sessions);
    });
  }
}

export function toRow(event: ActivityEvent): Record<string, unknown> {
  return {
    id: event.id,
    user_id: event.userId,
    session_id: event.sessionId,
    activity_type: event.activityType,
    entity_type: event.entityType,
    entity_id: event.entityId,
    action: event.action,
    details: event.details === null ? null : JSON.stringify(event.details),
    ip_address: event.ipAddress,
    user_agent: event.userAgent,
    browser: event.browser,
    operating_system: event.operatingSystem,
    device_info: event.deviceInfo === null ? null : JSON.stringify(event.deviceInfo),
    location: event.location === null ? null : JSON.stringify(event.location),
    duration: event.duration,
    start_time: event.startTime,
    end_time: event.endTime,
    method: event.method,
    path: event.path,
    route: event.route,
    status_code: event.statusCode,
    success: event.success,
    request_size: event.requestSize,
    response_size: event.responseSize,
  };
}

function sessionDeltas(events: readonly ActivityEvent[]): SessionDelta[] {
  const bySession = new Map<string, SessionDelta>();
  for (const event of events) {
    if (event.sessionId === null || NOT_COUNTED_IN_SESSION.has(event.activityType)) continue;
    const at = event.endTime ?? event.startTime;
    let delta = bySession.get(event.sessionId);
    if (!delta) {
      delta = {
        session_id: event.sessionId,
        user_id: event.userId,
        start_time: event.startTime,
        last_activity: at,
        page_views: 0,
        actions_count: 0,
        ip_address: event.ipAddress,
        user_agent: event.userAgent,
        device_info: event.deviceInfo === null ? null : JSON.stringify(event.deviceInfo),
      };
      bySession.set(event.sessionId, delta);
    }
    if (event.startTime < delta.start_time) delta.start_time = event.startTime;
    if (at > delta.last_activity) delta.last_activity = at;
    if (event.userId !== null) delta.user_id = event.userId;
    if (event.activityType === 'page_view') delta.page_views++;
    else delta.actions_count++;
  }
  // One lock order for every writer, so concurrent batches touching the same sessions cannot deadlock.
  return [...bySession.values()].sort((a, b) => (a.session_id < b.session_id ? -1 : a.session_id > b.session_id ? 1 : 0));
}

async function upsertSessions(trx: Knex.Transaction, sessions: SessionDelta[]): Promise<void> {
  await trx('activity_sessions')
    .insert(sessions.map((s) => ({ ...s, duration: s.last_activity.getTime() - s.start_time.getTime() })))
    .onConflict('session_id')
    .merge({
      user_id: trx.raw('coalesce(excluded.user_id, activity_sessions.user_id)'),
      start_time: trx.raw('least(activity_sessions.start_time, excluded.start_time)'),
      last_activity: trx.raw('greatest(activity_sessions.last_activity, excluded.last_activity)'),
      duration: trx.raw('extract(epoch from (greatest(activity_sessions.last_activity, excluded.last_activity) - least(activity_sessions.start_time, excluded.start_time))) * 1000'),
      page_views: trx.raw('activity_sessions.page_views + excluded.page_views'),
      actions_count: trx.raw('activity_sessions.actions_count + excluded.actions_count'),
      updated_at: trx.raw('now()'),
    });
}
