import type { Knex } from 'knex';
import type { Router } from 'express';
import { resolveConfig, type ResolvedConfig } from './config';
import { ActivityTrackingError } from './errors';
import type { CaptureContext } from './capture/buildEvent';
import { GeoLocator } from './capture/geo';
import { buildRecordedEvent } from './capture/recordedEvent';
import { createSanitizer } from './capture/sanitize';
import { SessionResolver } from './capture/session';
import { UserAgentParser } from './capture/userAgent';
import { createTokenVerifier } from './auth/jwt';
import { Recorder, type RecorderStats } from './recorder/recorder';
import { Journal } from './recorder/journal';
import { closeOnSignals } from './signals';
import { KnexActivityStore, type ActivityStore } from './store/activityStore';
import { explainDatabaseError, openDatabase, type OpenedDatabase } from './store/database';
import { assertSchemaCurrent, migrate } from './store/schema';
import { ensurePartitions } from './store/partitions/partitions';
import { partitionOptionsOf } from './jobs/options';
import { createReportRouter } from './router/router';
import { rowLevelSecurityBinding } from './store/rowLevelSecurity';
import { isPgLite } from './store/database';
import { Scheduler, type Job } from './jobs/scheduler';
import { removeExpiredActivity } from './jobs/retention';
import { closeIdleSessions } from './jobs/sessionSweeper';
import { rollUpClosedDays } from './jobs/rollups';
import { evaluateAlerts } from './jobs/alerts';
import { AlertListeners } from './alerts/emitter';
import { WebhookSender } from './alerts/webhook';
import { createActivityMiddleware, type ActivityMiddleware } from '../middleware/activityMiddleware';
import type { ActivityEvent, Alert, Logger, Options, RecordInput } from './types';
import { messageOf } from './util/messageOf';

export interface ActivityTracker {
  /** The capture middleware; mount it before the app's routes. */
  middleware(): ActivityMiddleware;
  /** The report routes, to mount under a path such as `/api/activity-tracking`. */
  router(): Router;
  /** Records a domain event; resolves once it is stored. */
  record(event: RecordInput): Promise<void>;
  /** Resolves when every event captured so far is stored. */
  flush(): Promise<void>;
  /**
   * Stores what is waiting (events captured meanwhile included) for up to `closeTimeoutMs`,
   * journals the rest for the next start, then refuses further events; stops the jobs and closes
   * the connection it opened.
   */
  close(): Promise<void>;
  /** Resolves when the database is reachable and its tables are current; rejects saying how to fix it. */
  ready(): Promise<void>;
  /** Counters of the write path. */
  stats(): RecorderStats;
  /**
   * Runs a periodic job now, unless another process is running it; resolves with whether it ran
   * (false for `alerts` when the alerts option is false). Failures are logged, as for scheduled runs.
   */
  runJob(name: JobName): Promise<boolean>;
  /** The knex instance the tracker writes through. */
  readonly knex: Knex;
  /**
   * Calls `listener` with each alert this process's alerts job creates, once (with several
   * processes, each alert is created, and so emitted, by exactly one of them). A listener that
   * throws is logged; it never stops the job.
   */
  on(event: 'alert', listener: (alert: Alert) => void): void;
  /** Removes a listener given to `on`. */
  off(event: 'alert', listener: (alert: Alert) => void): void;
}

/** The periodic jobs a tracker runs. */
export type JobName = 'retention' | 'session-sweeper' | 'alerts' | 'partitions' | 'rollups';

/** The usual minimum retention of audit logs; a shorter setting is allowed, with a warning. */
export const COMMON_MINIMUM_RETENTION_DAYS = 90;
/** How often the partitions job makes sure the partitions ahead exist. */
export const PARTITIONS_INTERVAL_MS = 6 * 60 * 60_000;
/** How often the retention job looks for expired activity. */
export const RETENTION_INTERVAL_MS = 60 * 60_000;
/**
 * How often the rollups job builds the days that closed and merges rows stored late: the rows a
 * long-period report still reads from user_activity are at most this old.
 */
export const ROLLUP_INTERVAL_MS = 10 * 60_000;

export function createActivityTracker(options?: Options): ActivityTracker {
  const config = resolveConfig(options);
  const database = openDatabase(config.database, config.logger);
  const { logger } = config;

  const capture = createCaptureContext(config);
  const readiness = new Readiness(() => prepare(database, config));
  const readyPromise = readiness.get();
  // Said once, for apps that never ask; an app awaiting ready() hears it from the rejection.
  let readyObserved = false;
  readyPromise.catch((error: unknown) => {
    if (!readyObserved) logger.error('Activity tracking cannot write yet', { error: messageOf(error) });
  });
  if (config.rowLevelSecurity) readyPromise.then(() => warnUnlessRowLevelSecurityBinds(database.knex, logger), () => undefined);
  const journal = openJournal(config);
  const recorder = new Recorder(() => readiness.get(), {
    batchSize: config.batchSize,
    flushIntervalMs: config.flushIntervalMs,
    maxQueueSize: config.maxQueueSize,
    logger,
    journal,
    journalMode: config.journal ? config.journal.mode : 'spill',
    retryInitialDelayMs: config.retry.initialDelayMs,
    retryMaxDelayMs: config.retry.maxDelayMs,
    writeTimeoutMs: config.writeTimeoutMs,
    closeTimeoutMs: config.closeTimeoutMs,
  });

  if (config.retentionDays < COMMON_MINIMUM_RETENTION_DAYS) {
    logger.warn(`Activity is kept for ${config.retentionDays} days; audit rules commonly ask for at least ${COMMON_MINIMUM_RETENTION_DAYS} (ACTIVITY_LOG_RETENTION_DAYS)`, { retentionDays: config.retentionDays });
  }
  const scheduler = new Scheduler(database.knex, logger, () => readiness.get().then(() => undefined));
  const alertListeners = new AlertListeners(logger);
  const webhook = config.alerts && config.alerts.webhook ? new WebhookSender(config.alerts.webhook, logger) : null;
  const jobs: Record<JobName, Job> = {
    retention: {
      name: 'retention',
      intervalMs: RETENTION_INTERVAL_MS,
      run: (knex) => removeExpiredActivity(knex, { retentionDays: config.retentionDays, job: 'retention-job', signingKey: config.signingKey, archive: config.retentionArchive }),
    },
    'session-sweeper': {
      name: 'session-sweeper',
      intervalMs: config.sessionSweepMinutes * 60_000,
      run: (knex) => closeIdleSessions(knex, { timeoutMinutes: config.sessionTimeoutMinutes, risk: config.risk, signingKey: config.signingKey }),
    },
    rollups: {
      name: 'rollups',
      intervalMs: ROLLUP_INTERVAL_MS,
      run: (knex) => rollUpClosedDays(knex, { retentionDays: config.retentionDays }),
    },
    partitions: {
      name: 'partitions',
      intervalMs: PARTITIONS_INTERVAL_MS,
      run: (knex) => ensurePartitions(knex, partitionOptionsOf(config)),
    },
    alerts: {
      name: 'alerts',
      intervalMs: config.alerts ? config.alerts.intervalMs : 0,
      run: async (knex) => {
        if (!config.alerts) return;
        for (const alert of await evaluateAlerts(knex, config.alerts, logger)) {
          alertListeners.emit(alert);
          webhook?.send(alert);
        }
      },
    },
  };
  if (config.jobs) for (const job of Object.values(jobs)) if (job.intervalMs > 0) scheduler.schedule(job);

  const recordWith = (input: RecordInput, defaults: Partial<ActivityEvent>): Promise<void> => {
    try {
      return recorder.write(buildRecordedEvent(input, defaults, capture.sanitizer));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  const middleware = createActivityMiddleware({
    capture,
    enqueue: (event) => {
      recorder.enqueue(event);
    },
    record: recordWith,
  });

  let closing: Promise<void> | undefined;
  let removeSignalHandlers: (() => void) | undefined;
  const shutdown = new AbortController();
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shutdown.abort();
      removeSignalHandlers?.();
      await scheduler.stop();
      webhook?.stop();
      await recorder.close();
      // A server that stopped answering must not hold shutdown: what it had is journaled already.
      if (database.owned) await Promise.race([database.close(), delay(config.closeTimeoutMs)]);
    })();
    return closing;
  };
  if (config.handleSignals) removeSignalHandlers = closeOnSignals(close, logger);
  return {
    middleware: () => middleware,
    router: () => createReportRouter({
      db: database.knex,
      config,
      ready: () => readiness.get().then(() => undefined),
      record: (input) => {
        recordWith(input, {}).catch((error: unknown) => logger.error('A report-route read could not be put on the trail', { error: messageOf(error) }));
      },
      writePathStats: () => recorder.stats(),
      closing: shutdown.signal,
    }),
    record: (event) => recordWith(event, {}),
    flush: () => recorder.flush(),
    close,
    ready: () => {
      readyObserved = true;
      return readyPromise.then(() => undefined);
    },
    stats: () => recorder.stats(),
    runJob: (name) => {
      const job = jobs[name];
      if (name === 'alerts' && !config.alerts) return Promise.resolve(false);
      return job ? scheduler.runOnce(job) : Promise.reject(new ActivityTrackingError('ERR_AT_INVALID_OPTION', `Unknown job "${String(name)}". Fix: use one of ${Object.keys(jobs).join(', ')}`));
    },
    knex: database.knex,
    on: (event, listener) => {
      if (event !== 'alert' || typeof listener !== 'function') throw new ActivityTrackingError('ERR_AT_INVALID_OPTION', `Cannot listen to "${String(event)}". Fix: call tracker.on('alert', (alert) => { ... })`);
      alertListeners.add(listener);
    },
    off: (event, listener) => {
      if (event === 'alert') alertListeners.remove(listener);
    },
  };
}

function createCaptureContext(config: ResolvedConfig): CaptureContext {
  const reported = new Set<string>();
  const report = (where: string, error: unknown): void => {
    // Once per place: a broken option would otherwise log on every request.
    if (reported.has(where)) return;
    reported.add(where);
    config.logger.error(`Activity capture failed in ${where}; the request was not affected`, { error: messageOf(error) });
  };
  return {
    config,
    sanitizer: createSanitizer({ extraSensitiveKeys: config.sensitiveKeys, limits: config.limits }),
    userAgents: new UserAgentParser(),
    geo: new GeoLocator(config.geo, (error) => report('geo lookup', error)),
    sessions: new SessionResolver(config),
    tokens: createTokenVerifier(config),
    report,
  };
}

async function prepare(database: OpenedDatabase, config: ResolvedConfig): Promise<ActivityStore> {
  try {
    await database.knex.raw('select 1');
  } catch (error) {
    const explained = explainDatabaseError(error, database);
    if (explained !== error) throw explained;
    throw new ActivityTrackingError('ERR_AT_DATABASE', `Cannot reach the activity database: ${messageOf(error)}. Fix: check DATABASE_URL and that the server is running`, { cause: error });
  }
  if (database.kind === 'embedded' || config.autoMigrate) await migrate(database.knex, partitionOptionsOf(config));
  else {
    await assertSchemaCurrent(database.knex);
    // The partitions job runs every six hours; a start after a long stop must not wait for it.
    await ensurePartitions(database.knex, partitionOptionsOf(config)).catch((error: unknown) => {
      config.logger.warn('Activity tracking could not create the partitions ahead; rows go to user_activity_default until it can', { error: messageOf(error) });
    });
  }
  return new KnexActivityStore(database.knex, { risk: config.risk, signingKey: config.signingKey });
}

/** Memoizes a successful start-up; a failed one is tried again on the next call, so a late migration or a returning server is picked up. */
class Readiness<T> {
  private pending: Promise<T> | undefined;

  constructor(private readonly start: () => Promise<T>) {}

  get(): Promise<T> {
    this.pending ??= this.start().catch((error: unknown) => {
      this.pending = undefined;
      throw error;
    });
    return this.pending;
  }
}

function openJournal(config: ResolvedConfig): Journal | null {
  if (!config.journal) return null;
  try {
    // Write-ahead mode replays every batch it journals: keep up to a queue's worth in memory to replay from.
    return Journal.create({ dir: config.journal.dir, logger: config.logger, cacheEvents: config.journal.mode === 'write-ahead' ? config.maxQueueSize : config.batchSize,
      ...(config.journal.maxBytes !== null ? { maxBytes: config.journal.maxBytes } : {}),
    });
  } catch (error) {
    config.logger.error('The activity journal folder cannot be created; events the database cannot take will be dropped. Fix: make journal.dir (or ACTIVITY_DATA_DIR) writable', { dir: config.journal.dir, error: messageOf(error) });
    return null;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * `rowLevelSecurity: true` promises a second wall that PostgreSQL silently drops for superusers,
 * BYPASSRLS roles and table owners, or when the policies were never added: say so once, loudly.
 */
async function warnUnlessRowLevelSecurityBinds(knex: Knex, logger: Logger): Promise<void> {
  try {
    const binding = await rowLevelSecurityBinding(knex);
    if (binding.enforced) return;
    if (isPgLite(knex)) {
      logger.warn('rowLevelSecurity is ignored on the embedded database; the report routes\' own tenant filter still applies', { code: 'ERR_AT_RLS_NOT_ENFORCED' });
      return;
    }
    logger.error(`rowLevelSecurity is on, but the policies do not bind this connection: ${binding.reasons.join('; ')}. Fix: run activity-tracking rls enable as the tables' owner, and connect the app as a role that owns nothing and is neither superuser nor BYPASSRLS (GET /health shows the state)`,
      { code: 'ERR_AT_RLS_NOT_ENFORCED', reasons: binding.reasons });
  } catch (error) {
    logger.error('Cannot check that row-level security binds this connection', { error: messageOf(error) });
  }
}
