import { isPgLite, type Database } from '../database';

/**
 * Runs `run` while this process holds the job's lock, `pg_try_advisory_xact_lock` on the job's name,
 * in a transaction that stays open while the job runs: the lock is the transaction's, so it is
 * released however the job ends, even if the process dies. The job's own writes use their own
 * transactions (each batch one), not this one. Resolves false, without running, when another
 * process holds the lock.
 */
export async function withJobLock(db: Database, name: string, run: () => Promise<unknown>): Promise<boolean> {
  if (isPgLite(db)) {
    // The embedded database is one process's own: there is no other process to exclude, and its
    // single connection cannot be held by a lock while the job writes.
    await run();
    return true;
  }
  const trx = await db.transaction();
  try {
    const result = (await trx.raw('select pg_try_advisory_xact_lock(hashtext(?)) as locked', [`activity_tracking:${name}`])) as { rows: Array<{ locked: boolean }> };
    if (!result.rows[0]?.locked) return false;
    await run();
    return true;
  } finally {
    await trx.commit();
  }
}
