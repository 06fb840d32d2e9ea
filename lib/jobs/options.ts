/** The periodic jobs (retention, the session sweeper): their options, defaults and checks. */
import { checkBoolean, checkInteger, envInteger } from '../util/optionChecks';

export interface JobOptions {
  /**
   * Run the periodic jobs (retention, every hour; the session sweeper; the alert rules, every
   * `alerts.intervalSeconds`) in this process. Several processes may all run them: a PostgreSQL
   * advisory lock lets one at a time do each job.
   * @default true
   */
  jobs?: boolean;
  /**
   * Days of activity kept. Environment: `ACTIVITY_LOG_RETENTION_DAYS`, read when the option is not given.
   * @default 90
   */
  retentionDays?: number;
  /**
   * Minutes between runs of the job that ends sessions idle for `sessionTimeoutMinutes`.
   * @default 5
   */
  sessionSweepMinutes?: number;
}

export const JOB_DEFAULTS = {
  jobs: true,
  retentionDays: 90,
  sessionSweepMinutes: 5,
} as const satisfies { [K in keyof JobOptions]?: unknown };

export interface ResolvedJobOptions {
  jobs: boolean;
  retentionDays: number;
  sessionSweepMinutes: number;
}

export function resolveJobOptions(opts: JobOptions, env: NodeJS.ProcessEnv): ResolvedJobOptions {
  const retentionDays = opts.retentionDays ?? envInteger(env, 'ACTIVITY_LOG_RETENTION_DAYS', JOB_DEFAULTS.retentionDays, 1);
  checkInteger('retentionDays', retentionDays, 1, 36500);
  const jobs = opts.jobs ?? JOB_DEFAULTS.jobs;
  checkBoolean('jobs', jobs);
  const sessionSweepMinutes = opts.sessionSweepMinutes ?? JOB_DEFAULTS.sessionSweepMinutes;
  checkInteger('sessionSweepMinutes', sessionSweepMinutes, 1, 1440);
  return { jobs, retentionDays, sessionSweepMinutes };
}
