import type { Knex } from 'knex';
import type { Logger } from '../types';
import { isPgLite } from '../store/database';
import { messageOf } from '../util/messageOf';

export interface Job {
  /** Also the advisory-lock key's source: one name, one lock, in every process. */
  name: string;
  intervalMs: number;
  /** Runs while this process holds the job's lock. */
  run(knex: Knex): Promise<unknown>;
}

/**
 * Owns every periodic job of a tracker. Timers are unref'd, so they never keep the process alive;
 * `stop()` clears them and waits for a run in progress. When several processes share a database,
 * a run first takes a session advisory lock named after the job on a connection of its own; a
 * process that cannot get it skips that run, so each job runs in one process at a time. A run that
 * fails is logged and simply tried again at the next interval.
 */
export class Scheduler {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly knex: Knex, private readonly logger: Logger, private readonly ready: () => Promise<void>) {}

  schedule(job: Job): void {
    if (this.stopped) return;
    const timer = setInterval(() => { void this.runOnce(job); }, job.intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  /** Runs a job now unless another process is running it; resolves with whether it ran. */
  runOnce(job: Job): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    let ran = false;
    const run = (async () => {
      try {
        await this.ready();
        ran = await withJobLock(this.knex, job.name, () => job.run(this.knex));
      } catch (error) {
        this.logger.error(`Activity tracking job ${job.name} failed; it runs again at its next interval`, { error: messageOf(error) });
      }
    })();
    this.running.add(run);
    return run.finally(() => this.running.delete(run)).then(() => ran);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    await Promise.all([...this.running]);
  }
}

/**
 * Holds `pg_try_advisory_xact_lock` for the job in a transaction that stays open while the job
 * runs: the lock is the transaction's, so it is released however the job ends, even if the process
 * dies. The job's own writes use their own transactions (each batch one), not this one.
 */
async function withJobLock(knex: Knex, name: string, run: () => Promise<unknown>): Promise<boolean> {
  if (isPgLite(knex)) {
    // The embedded database is one process's own: there is no other process to exclude, and its
    // single connection cannot be held by a lock while the job writes.
    await run();
    return true;
  }
  const trx = await knex.transaction();
  try {
    const result = (await trx.raw('select pg_try_advisory_xact_lock(hashtext(?)) as locked', [`activity_tracking:${name}`])) as { rows: Array<{ locked: boolean }> };
    if (!result.rows[0]?.locked) return false;
    await run();
    return true;
  } finally {
    await trx.commit();
  }
}
