import type { Knex } from 'knex';
import { Recorder, type RecorderOptions } from '../../lib/recorder/recorder';
import { Journal } from '../../lib/recorder/journal';
import { KnexActivityStore, type ActivityStore } from '../../lib/store/activityStore';
import { uuidv7 } from '../../lib/util/ids';
import type { ActivityEvent } from '../../lib/types';
import { memoryLogger, tempJournalDir } from './app';

/** A request event as the capture middleware would build it. */
export function event(overrides: Partial<ActivityEvent> = {}): ActivityEvent {
  const now = Date.now();
  return {
    id: uuidv7(), userId: 'u1', sessionId: 's1', activityType: 'data_view', entityType: null, entityId: null, action: 'read',
    details: null, ipAddress: '127.0.0.1', userAgent: null, browser: null, operatingSystem: null, deviceInfo: null, location: null,
    duration: 1.5, startTime: now, endTime: now, method: 'GET', path: '/x', route: '/x', statusCode: 200, success: true,
    requestSize: null, responseSize: 10, ...overrides,
  };
}

/**
 * The real store on the test database behind a switch: while `down` is true every write fails as
 * a refused connection does, before reaching the database.
 */
export function switchableStore(knex: Knex): { store: () => Promise<ActivityStore>; down: boolean; attempts: number } {
  const state = {
    down: false,
    attempts: 0,
    store: async (): Promise<ActivityStore> => {
      state.attempts++;
      if (state.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      return new KnexActivityStore(knex);
    },
  };
  return state;
}

export type TestRecorder = Recorder & { logger: ReturnType<typeof memoryLogger>; journalDir: string | null };

/** A recorder with short waits and (unless `journal: null`) a journal in a folder of its own. */
export function testRecorder(store: () => Promise<ActivityStore>, overrides: Partial<RecorderOptions> & { journalDir?: string | null; journalMaxBytes?: number } = {}): TestRecorder {
  const logger = memoryLogger();
  const { journalDir: dirOverride, journalMaxBytes, ...options } = overrides;
  const journalDir = dirOverride === undefined ? tempJournalDir() : dirOverride;
  const recorder = new Recorder(store, {
    batchSize: 100, flushIntervalMs: 5, maxQueueSize: 1000, logger,
    journal: journalDir ? Journal.create({ dir: journalDir, logger, ...(journalMaxBytes ? { maxBytes: journalMaxBytes } : {}) }) : null,
    journalMode: 'spill', retryInitialDelayMs: 5, retryMaxDelayMs: 50, writeTimeoutMs: 5000, closeTimeoutMs: 1000,
    ...options,
  }) as TestRecorder;
  recorder.logger = logger;
  recorder.journalDir = journalDir;
  return recorder;
}

export async function countRows(knex: Knex, where: (q: Knex.QueryBuilder) => Knex.QueryBuilder = (q) => q): Promise<number> {
  const [row] = await where(knex('user_activity').whereNotIn('activity_type', ['session_start', 'session_end'])).count({ n: '*' });
  return Number(row?.n);
}

export function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, what: string | (() => string) = 'condition'): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = async (): Promise<void> => {
      if (await check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`));
      setTimeout(() => void poll(), 20);
    };
    void poll();
  });
}
