import type { RecorderStats } from '../lib/index';

/**
 * What a variant runs: Express alone ('bare'), Express with morgan or pino-http logging every
 * request to /dev/null (the loggers teams compare us with), or with the tracker on a database.
 */
export type VariantKind = 'bare' | 'morgan' | 'pino-http' | 'postgres' | 'embedded';

/** The tracker's journal mode (Options.journal.mode). */
export type JournalMode = 'spill' | 'write-ahead';

/** What bench/run.ts tells the server child (JSON in argv[2]). */
export interface ServerConfig {
  kind: VariantKind;
  /** PostgreSQL connection string with `options=-c search_path=<schema>` (postgres only). */
  databaseUrl?: string;
  /** Schema the rows are counted in (postgres only). */
  schema?: string;
  /** Embedded database folder (embedded only). */
  dataDir?: string;
  /**
   * The tracker's journal folder (tracked variants): a fresh folder under the bench's temp dir, so
   * the bench never writes a journal into the working copy and no variant replays another's.
   */
  journalDir?: string;
  /** The tracker's journal mode (tracked variants). Default 'spill'. */
  journalMode?: JournalMode;
  /** Tracker options that differ from the bench defaults (for investigation runs). */
  trackerOverrides?: {
    detailedTracking?: boolean;
    geo?: boolean;
    /** false: rows are not scored for risk (the database's share of the cost of scoring). */
    risk?: false;
    batchSize?: number;
    flushIntervalMs?: number;
  };
}

/** Messages from run.ts to the child. */
export type ToServer = { type: 'mark' } | { type: 'sample' } | { type: 'stop' };

/** Messages from the child to run.ts. */
export type FromServer =
  | { type: 'listening'; port: number }
  | { type: 'marked' }
  /** CPU time of the server process since the last 'mark', in ms, and the requests it served meanwhile. */
  | { type: 'sampled'; cpuMs: number; served: number }
  | {
      type: 'stopped';
      /** Requests that reached the HTTP server (counted before Express). */
      served: number;
      /** Requests answered with a non-2xx status, as the server saw them. */
      servedNon2xx: number;
      /** Events waiting in the recorder (memory and journal) when the load stopped: the write backlog. */
      queuedAtStop: number | null;
      /** Milliseconds `tracker.close()` took (the final flush). */
      closeMs: number;
      stats: RecorderStats | null;
      rows: number | null;
      sessions: number | null;
      rssMb: number;
    }
  | { type: 'failed'; error: string };
