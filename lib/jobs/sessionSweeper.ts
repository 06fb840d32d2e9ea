import type { ResolvedRisk } from '../config';
import type { BatchSigningKey } from '../integrity/batchSignatures';
import { endSessions } from '../store/activityStore';
import type { Database } from '../store/database';
import { idleSessions } from '../store/jobs/sessionSweep';

/** Sessions closed per statement. */
export const SWEEP_BATCH_SIZE = 500;

/**
 * Ends the sessions with no activity for `timeoutMinutes`: `end_time` is their last activity, and
 * each gets a `session_end` row (action `session.timeout`) in the chain, signed with `signingKey`
 * when one is given. Each batch is one transaction, so a failure leaves every session either
 * closed with its row or untouched; a session another process closed meanwhile is skipped.
 * Returns how many it ended.
 */
export async function closeIdleSessions(db: Database, options: { timeoutMinutes: number; now?: Date; batchSize?: number; risk?: ResolvedRisk | false | null; signingKey?: BatchSigningKey | null }): Promise<number> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.timeoutMinutes * 60_000);
  const batchSize = options.batchSize ?? SWEEP_BATCH_SIZE;
  // The session_end rows are scored for risk like every other row.
  const risk = options.risk ? JSON.stringify(options.risk) : null;
  let ended = 0;
  for (;;) {
    const idle = await idleSessions(db, cutoff, batchSize);
    if (idle.length === 0) return ended;
    const ends = idle.map((s) => ({ sessionId: s.sessionId, endedAt: s.lastActivity.getTime() }));
    await endSessions(db, ends, 'session.timeout', risk, options.signingKey);
    ended += idle.length;
    if (idle.length < batchSize) return ended;
  }
}
