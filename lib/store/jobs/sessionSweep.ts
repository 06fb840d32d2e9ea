import type { Database } from '../database';

/** Open sessions with no activity since before `cutoff`, longest idle first, at most `limit`. */
export async function idleSessions(db: Database, cutoff: Date, limit: number): Promise<Array<{ sessionId: string; lastActivity: Date }>> {
  const rows = (await db('activity_sessions')
    .where('is_active', true)
    .where('last_activity', '<', cutoff)
    .orderBy('last_activity')
    .limit(limit)
    .select('session_id', 'last_activity')) as Array<{ session_id: string; last_activity: Date }>;
  return rows.map((s) => ({ sessionId: s.session_id, lastActivity: new Date(s.last_activity) }));
}
