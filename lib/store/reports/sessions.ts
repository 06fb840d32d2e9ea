import type { Knex } from 'knex';
import type { Database } from '../database';
import type { DeviceInfo, GeoLocation } from '../../types';
import type { Paging } from './filters';
import { isoOrNull, numberOrNull } from './rowValues';
import { applyTenantScope, EVERY_TENANT, type TenantScope } from './tenantScope';

/** A session as `GET /sessions/active` returns it. */
export interface SessionJson {
  sessionId: string;
  userId: string | null;
  deviceInfo: DeviceInfo | null;
  ipAddress: string | null;
  userAgent: string | null;
  startTime: string;
  lastActivity: string;
  pageViews: number;
  actionsCount: number;
  /**
   * Who the visit was, in order: each user (null while signed out) with their first and latest
   * activity in it. A visit is one browser or client from its first page to its last, through
   * sign-in and sign-out; another user signing in starts a visit of their own.
   */
  users: SessionUser[];
  /** The browser, operating system and location of the session's latest request (null before any). */
  browser: string | null;
  operatingSystem: string | null;
  location: GeoLocation | null;
}

export interface SessionUser {
  userId: string | null;
  firstSeen: string;
  lastSeen: string;
}

/** A session as `GET /me/sessions` returns it: also whether and when it ended. */
export interface OwnSessionJson extends SessionJson {
  endTime: string | null;
  duration: number | null;
  isActive: boolean;
}

export interface SessionPage<T> { rows: T[]; total: number }

/** Which active sessions `GET /sessions/active` lists. */
export interface ActiveSessionFilter {
  /** Sessions whose latest activity is at or after this. */
  since: Date;
  userId?: string;
}

function toSessionJson(row: Record<string, unknown>): SessionJson {
  return {
    sessionId: String(row['session_id']),
    userId: (row['user_id'] as string | null) ?? null,
    deviceInfo: (row['device_info'] as DeviceInfo | null | undefined) ?? null,
    ipAddress: (row['ip_address'] as string | null) ?? null,
    userAgent: (row['user_agent'] as string | null) ?? null,
    startTime: isoOrNull(row['start_time']) as string,
    lastActivity: isoOrNull(row['last_activity']) as string,
    pageViews: Number(row['page_views']),
    actionsCount: Number(row['actions_count']),
    users: [],
    browser: null,
    operatingSystem: null,
    location: null,
  };
}

/**
 * Fills in each listed session's users: one grouped read of the page's sessions on the
 * (session_id, start_time) index, within the caller's tenant scope.
 */
async function withUsers<T extends SessionJson>(knex: Database, tenants: TenantScope, sessions: T[], onlyUser?: string): Promise<T[]> {
  if (sessions.length === 0) return sessions;
  const query = applyTenantScope(knex('user_activity'), tenants);
  // A user's own list names no one else, whatever another process made of a shared browser.
  if (onlyUser !== undefined) query.where((q) => { q.where('user_id', onlyUser).orWhereNull('user_id'); });
  const rows = (await query
    .select('session_id', 'user_id').min({ first_seen: 'start_time' }).max({ last_seen: 'start_time' })
    .whereIn('session_id', sessions.map((s) => s.sessionId))
    .whereNotIn('activity_type', ['session_start', 'session_end'])
    .groupBy('session_id', 'user_id')
    .orderBy([{ column: 'session_id' }, { column: 'first_seen' }])) as Array<Record<string, unknown>>;
  const bySession = new Map<string, SessionUser[]>();
  for (const row of rows) {
    const id = String(row['session_id']);
    let users = bySession.get(id);
    if (users === undefined) bySession.set(id, users = []);
    users.push({ userId: (row['user_id'] as string | null) ?? null, firstSeen: isoOrNull(row['first_seen']) as string, lastSeen: isoOrNull(row['last_seen']) as string });
  }
  for (const session of sessions) session.users = bySession.get(session.sessionId) ?? [];
  return sessions;
}

/**
 * Fills in where each listed session is now: the browser, system and location of its latest
 * request, read backwards on the (session_id, start_time) index, one row per session.
 */
async function withLatestClient<T extends SessionJson>(knex: Database, tenants: TenantScope, sessions: T[], onlyUser?: string): Promise<T[]> {
  if (sessions.length === 0) return sessions;
  const query = applyTenantScope(knex('user_activity'), tenants);
  if (onlyUser !== undefined) query.where((q) => { q.where('user_id', onlyUser).orWhereNull('user_id'); });
  const rows = (await query
    .distinctOn('session_id').select('session_id', 'browser', 'operating_system', 'location')
    .whereIn('session_id', sessions.map((s) => s.sessionId))
    .whereNotIn('activity_type', ['session_start', 'session_end'])
    .orderBy([{ column: 'session_id' }, { column: 'start_time', order: 'desc' }])) as Array<Record<string, unknown>>;
  const bySession = new Map(rows.map((row) => [String(row['session_id']), row]));
  for (const session of sessions) {
    const row = bySession.get(session.sessionId);
    session.browser = (row?.['browser'] as string | null | undefined) ?? null;
    session.operatingSystem = (row?.['operating_system'] as string | null | undefined) ?? null;
    session.location = (row?.['location'] as GeoLocation | null | undefined) ?? null;
  }
  return sessions;
}

/** A page of sessions with who was in each and where each is now, read side by side. */
async function described<T extends SessionJson>(knex: Database, tenants: TenantScope, sessions: T[], onlyUser?: string): Promise<T[]> {
  await Promise.all([withUsers(knex, tenants, sessions, onlyUser), withLatestClient(knex, tenants, sessions, onlyUser)]);
  return sessions;
}

function toOwnSessionJson(row: Record<string, unknown>): OwnSessionJson {
  return {
    ...toSessionJson(row),
    endTime: isoOrNull(row['end_time']),
    duration: numberOrNull(row['duration']),
    isActive: Boolean(row['is_active']),
  };
}

async function pageOf(rows: Knex.QueryBuilder, counted: Knex.QueryBuilder): Promise<{ rows: Array<Record<string, unknown>>; total: number }> {
  const [found, count] = await Promise.all([rows, counted.count({ total: '*' }).first()]);
  return { rows: found as Array<Record<string, unknown>>, total: Number((count as { total?: unknown } | undefined)?.total ?? 0) };
}

/**
 * Sessions still marked active whose latest activity is not older than `since`: a session whose
 * user simply walked away is never closed by a logout, so the flag alone would keep it "active"
 * forever. Both conditions are on the (is_active, last_activity) index.
 */
export async function activeSessions(knex: Database, tenants: TenantScope, filter: ActiveSessionFilter, page: Paging): Promise<SessionPage<SessionJson>> {
  const scope = (query: Knex.QueryBuilder): Knex.QueryBuilder => {
    query.where('is_active', true).where('last_activity', '>=', filter.since);
    if (filter.userId !== undefined) query.where('user_id', filter.userId);
    // A session belongs to the tenant of the requests that made it (activity_sessions.tenant_id).
    return applyTenantScope(query, tenants, 'activity_sessions');
  };
  const found = await pageOf(
    scope(knex('activity_sessions').select('*')).orderBy([{ column: 'last_activity', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(page.limit).offset(page.offset),
    scope(knex('activity_sessions')),
  );
  return { rows: await described(knex, tenants, found.rows.map(toSessionJson)), total: found.total };
}

/** One user's sessions, newest first, on the (user_id, start_time) index; no other user's row can match. */
export async function userSessions(knex: Database, userId: string, page: Paging): Promise<SessionPage<OwnSessionJson>> {
  const found = await pageOf(
    knex('activity_sessions').select('*').where('user_id', userId)
      .orderBy([{ column: 'start_time', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(page.limit).offset(page.offset),
    knex('activity_sessions').where('user_id', userId),
  );
  return { rows: await described(knex, EVERY_TENANT, found.rows.map(toOwnSessionJson), userId), total: found.total };
}
