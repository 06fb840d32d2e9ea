/** The periodic jobs (retention, the session sweeper, the rollups, the partitions): their options, defaults and checks. */
import { checkBoolean, checkInteger, envInteger, invalid } from '../util/optionChecks';
import { PARTITION_INTERVALS, type PartitionInterval } from '../store/partitions/partitions';

export interface JobOptions {
  /**
   * Run the periodic jobs (retention, every hour; the session sweeper; the alert rules, every
   * `alerts.intervalSeconds`; the report rollups, every 10 minutes) in this process. Several processes may all run them: a PostgreSQL
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
  /**
   * How much time each partition of user_activity covers (by the time rows were stored). Retention
   * drops a partition whole once all its rows have expired, and deletes the rest in batches; each
   * partition costs every write one more index probe (the event id is looked up in each), so a
   * month keeps that at four or five probes under the default 90-day retention. Applies to
   * partitions created from then on. Environment: `ACTIVITY_PARTITION_INTERVAL`.
   * @default 'month'
   */
  partitionInterval?: PartitionInterval;
  /**
   * Periods after the current one whose partitions exist ahead of time: created at migrate and by
   * the partitions job (every six hours), so rows never wait on a table being created.
   * @default 2
   */
  partitionsAhead?: number;
}

export const JOB_DEFAULTS = {
  jobs: true,
  retentionDays: 90,
  sessionSweepMinutes: 5,
  partitionInterval: 'month',
  partitionsAhead: 2,
} as const satisfies { [K in keyof JobOptions]?: unknown };

export interface ResolvedJobOptions {
  jobs: boolean;
  retentionDays: number;
  sessionSweepMinutes: number;
  partitionInterval: PartitionInterval;
  partitionsAhead: number;
}

/** The partition options of a resolved configuration, as migrate() and the partitions job take them. */
export function partitionOptionsOf(config: Pick<ResolvedJobOptions, 'partitionInterval' | 'partitionsAhead'>): { interval: PartitionInterval; ahead: number } {
  return { interval: config.partitionInterval, ahead: config.partitionsAhead };
}

/** What migrate() creates when it is given no partition options (the tests, a direct call). */
export const PARTITION_DEFAULTS = { interval: JOB_DEFAULTS.partitionInterval, ahead: JOB_DEFAULTS.partitionsAhead } as const;

export function resolveJobOptions(opts: JobOptions, env: NodeJS.ProcessEnv): ResolvedJobOptions {
  const retentionDays = opts.retentionDays ?? envInteger(env, 'ACTIVITY_LOG_RETENTION_DAYS', JOB_DEFAULTS.retentionDays, 1);
  checkInteger('retentionDays', retentionDays, 1, 36500);
  const jobs = opts.jobs ?? JOB_DEFAULTS.jobs;
  checkBoolean('jobs', jobs);
  const sessionSweepMinutes = opts.sessionSweepMinutes ?? JOB_DEFAULTS.sessionSweepMinutes;
  checkInteger('sessionSweepMinutes', sessionSweepMinutes, 1, 1440);
  const partitionInterval = opts.partitionInterval ?? (env['ACTIVITY_PARTITION_INTERVAL'] || JOB_DEFAULTS.partitionInterval);
  if (!PARTITION_INTERVALS.includes(partitionInterval as PartitionInterval)) {
    throw invalid(opts.partitionInterval === undefined ? 'ACTIVITY_PARTITION_INTERVAL' : 'partitionInterval', partitionInterval, `use one of ${PARTITION_INTERVALS.join(', ')}`);
  }
  const partitionsAhead = opts.partitionsAhead ?? JOB_DEFAULTS.partitionsAhead;
  checkInteger('partitionsAhead', partitionsAhead, 1, 366);
  return { jobs, retentionDays, sessionSweepMinutes, partitionInterval: partitionInterval as PartitionInterval, partitionsAhead };
}
