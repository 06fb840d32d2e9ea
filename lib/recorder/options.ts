/** How captured events reach the database (queue, batches, retries, journal): the recorder options, their defaults and their checks. */
import path from 'node:path';
import { checkInteger, checkKnownKeys, invalid, isPlainObject, numberGroup } from '../util/optionChecks';

export interface RecorderOptions {
  /**
   * Rows per batch statement.
   * @default 500
   */
  batchSize?: number;
  /**
   * Longest wait before queued events are written, in milliseconds. Each write costs the database
   * a few milliseconds whatever its size, so fewer, larger batches cost it less per row (see the
   * README's Benchmark section); a busier app fills batches before the wait is over.
   * @default 250
   */
  flushIntervalMs?: number;
  /**
   * Events held in memory at most. Past it, the oldest batch moves to the journal; only with the
   * journal off (or unwritable) are events dropped, counted and logged.
   * @default 10000
   */
  maxQueueSize?: number;
  /**
   * The durable local journal that keeps what the database cannot take now (unreachable, failing,
   * slow, or behind), replayed in order as soon as it answers, and at the next start.
   * `dir`: its folder, by default `<dataDir>/journal` (also on PostgreSQL).
   * `mode`: `'spill'` journals only what the database cannot take; `'write-ahead'` journals every batch
   * before writing it, so a crash loses only what was not journaled yet, at a cost in throughput.
   * `maxBytes`: by default no limit (the disk's); past it, events are dropped, counted and logged.
   * `false` turns it off.
   * @default { mode: 'spill' }
   */
  journal?: false | { dir?: string; mode?: 'spill' | 'write-ahead'; maxBytes?: number };
  /**
   * Waits between write retries: exponential with full jitter, from `initialDelayMs` up to `maxDelayMs`.
   * @default { initialDelayMs: 100, maxDelayMs: 10000 }
   */
  retry?: { initialDelayMs?: number; maxDelayMs?: number };
  /**
   * A batch write the database has not answered in this many milliseconds counts as failed and is
   * retried from the journal.
   * @default 30000
   */
  writeTimeoutMs?: number;
  /**
   * How long `close()` writes waiting events to the database before it journals the rest, in milliseconds.
   * @default 10000
   */
  closeTimeoutMs?: number;
}

export const RECORDER_DEFAULTS = {
  batchSize: 500,
  flushIntervalMs: 250,
  maxQueueSize: 10_000,
  journal: { mode: 'spill' },
  retry: { initialDelayMs: 100, maxDelayMs: 10_000 },
  writeTimeoutMs: 30_000,
  closeTimeoutMs: 10_000,
} as const satisfies { [K in keyof RecorderOptions]?: unknown };

export interface ResolvedRecorderOptions {
  batchSize: number;
  flushIntervalMs: number;
  maxQueueSize: number;
  journal: false | { dir: string; mode: 'spill' | 'write-ahead'; maxBytes: number | null };
  retry: { initialDelayMs: number; maxDelayMs: number };
  writeTimeoutMs: number;
  closeTimeoutMs: number;
}

/** Postgres caps a statement at 65535 bind parameters; a row of user_activity binds 24. */
const MAX_BATCH_SIZE = 2000;

/** `dataDir` is the journal's default home. */
export function resolveRecorderOptions(opts: RecorderOptions, dataDir: string): ResolvedRecorderOptions {
  const batchSize = opts.batchSize ?? RECORDER_DEFAULTS.batchSize;
  checkInteger('batchSize', batchSize, 1, MAX_BATCH_SIZE);
  const flushIntervalMs = opts.flushIntervalMs ?? RECORDER_DEFAULTS.flushIntervalMs;
  checkInteger('flushIntervalMs', flushIntervalMs, 1, 60_000);
  const maxQueueSize = opts.maxQueueSize ?? RECORDER_DEFAULTS.maxQueueSize;
  checkInteger('maxQueueSize', maxQueueSize, batchSize, 10_000_000);
  const retry = numberGroup<ResolvedRecorderOptions['retry']>('retry', opts.retry, RECORDER_DEFAULTS.retry, { initialDelayMs: [1, 60_000], maxDelayMs: [1, 3_600_000] });
  if (retry.maxDelayMs < retry.initialDelayMs) throw invalid('retry.maxDelayMs', retry.maxDelayMs, `use at least retry.initialDelayMs (${retry.initialDelayMs})`);
  const writeTimeoutMs = opts.writeTimeoutMs ?? RECORDER_DEFAULTS.writeTimeoutMs;
  checkInteger('writeTimeoutMs', writeTimeoutMs, 100, 3_600_000);
  const closeTimeoutMs = opts.closeTimeoutMs ?? RECORDER_DEFAULTS.closeTimeoutMs;
  checkInteger('closeTimeoutMs', closeTimeoutMs, 0, 3_600_000);
  return { batchSize, flushIntervalMs, maxQueueSize, journal: resolveJournal(opts.journal, dataDir), retry, writeTimeoutMs, closeTimeoutMs };
}

function resolveJournal(journal: unknown, dataDir: string): ResolvedRecorderOptions['journal'] {
  if (journal === false) return false;
  if (journal !== undefined && !isPlainObject(journal)) throw invalid('journal', journal, "pass false, or an object such as { dir: './.activity-data/journal', mode: 'spill' }");
  const given = journal ?? {};
  checkKnownKeys(given, ['dir', 'mode', 'maxBytes'], 'journal');
  const dir = given['dir'] ?? path.join(dataDir, 'journal');
  if (typeof dir !== 'string' || dir.trim() === '') throw invalid('journal.dir', dir, 'pass a folder path the process can write');
  const mode = given['mode'] ?? RECORDER_DEFAULTS.journal.mode;
  if (mode !== 'spill' && mode !== 'write-ahead') throw invalid('journal.mode', mode, "use 'spill' or 'write-ahead'");
  const maxBytes = given['maxBytes'] ?? null;
  if (maxBytes !== null) checkInteger('journal.maxBytes', maxBytes, 1024 * 1024, Number.MAX_SAFE_INTEGER);
  return { dir: path.resolve(dir), mode, maxBytes: maxBytes as number | null };
}
