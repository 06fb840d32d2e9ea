import type { Logger } from '../types';
import type { Database } from '../store/database';
import { withJobLock } from '../store/jobs/jobLock';
import { messageOf } from '../util/messageOf';

export interface Job {
  /** Also the advisory-lock key's source: one name, one lock, in every process. */
  name: string;
  intervalMs: number;
  /** Runs while this process holds the job's lock. */
  run(db: Database): Promise<unknown>;
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

  constructor(private readonly db: Database, private readonly logger: Logger, private readonly ready: () => Promise<void>) {}

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
        ran = await withJobLock(this.db, job.name, () => job.run(this.db));
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

