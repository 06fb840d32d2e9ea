import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import knexFactory, { type Knex } from 'knex';
import type { ResolvedConfig } from '../config';
import type { Logger } from '../types';
import { ActivityTrackingError } from '../errors';
import { preparePrivateDirSync, reportFailures } from '../privateFiles';
import { messageOf } from '../util/messageOf';
import { lockDataFolder } from './dataFolderLock';
import { openPrivatePGlite } from './privateNodeFs';

/** What the store's queries run on: a connection pool or a transaction. */
export type Database = Knex;

/** A database the tracker or the CLI opened, and whether it must close it. */
export interface OpenedDatabase {
  knex: Database;
  kind: 'embedded' | 'postgres';
  /** Whether the tracker created the connection and so must close it. */
  owned: boolean;
  /** The folder of the embedded database this process opened, and holds locked while it is open. */
  dataDir?: string;
  /** Closes what this process opened (pool, embedded database, then its folder's lock); nothing for a knex it was given. */
  close(): Promise<void>;
}

/**
 * The embedded database when no server is named, a pooled pg connection when one is. `openedBy`
 * ("a tracker", "activity-tracking verify") goes into the embedded database's folder lock, so a
 * second opener is told who holds the folder; it throws ERR_AT_DATA_DIR_IN_USE when one does.
 */
export function openDatabase(config: ResolvedConfig['database'], logger: Logger, openedBy = 'a tracker'): OpenedDatabase {
  // knex's own warnings (a refused connection, say) repeat what the recorder reports; keep them at debug.
  const log = { warn: (m: unknown) => logger.debug(String(m)), error: (m: unknown) => logger.debug(String(m)), debug: () => undefined, deprecate: (m: unknown) => logger.debug(String(m)) };
  switch (config.kind) {
    case 'knex':
      return { knex: config.knex, kind: isPgLite(config.knex) ? 'embedded' : 'postgres', owned: false, close: () => Promise.resolve() };
    case 'postgres': {
      const knex = knexFactory({ client: 'pg', connection: config.url, pool: { min: 0, max: 10 }, log });
      return { knex, kind: 'postgres', owned: true, close: () => knex.destroy() };
    }
    case 'embedded': {
      const dataDir = path.resolve(config.dataDir);
      // A folder older versions left readable to others is made private before the database opens.
      reportFailures(preparePrivateDirSync(dataDir), logger);
      const lock = lockDataFolder(dataDir, openedBy, logger);
      let pglite: PGlite;
      try {
        pglite = openPrivatePGlite(dataDir, logger);
      } catch (error) {
        lock.release();
        throw error;
      }
      // Required here, not imported at the top, so apps on PostgreSQL never load the WebAssembly build.
      const ClientPgLite = require('knex-pglite') as typeof Knex.Client;
      const knex = knexFactory({ client: ClientPgLite, dialect: 'postgres', connection: () => ({ pglite }), log } as Knex.Config);
      return { knex, kind: 'embedded', owned: true, dataDir, close: () => closeEmbedded(knex, pglite, lock.release) };
    }
  }
}

/** The lock goes last, once PGlite has let go of the files: only then may another process open them. */
async function closeEmbedded(knex: Knex, pglite: PGlite, releaseLock: () => void): Promise<void> {
  try {
    await knex.destroy();
    // knex closes PGlite only if it ever connected.
    if (!pglite.closed) await pglite.close().catch(() => undefined);
  } finally {
    releaseLock();
  }
}

/**
 * PGlite reports a fatal error inside its WebAssembly build as `Aborted(). Build with -sASSERTIONS
 * for more info.`, and a data folder it cannot start on as `PGlite failed to initialize properly`;
 * neither tells the reader what happened or what to do. This does.
 */
export function explainDatabaseError(error: unknown, database: OpenedDatabase | undefined): unknown {
  const message = messageOf(error);
  // Emscripten's abort() throws a WebAssembly.RuntimeError whose message starts so.
  const what = /^Aborted\(/.test(message) ? 'stopped on an internal error (PGlite aborted)'
    : /^PGlite failed to initialize/.test(message) ? 'could not be started on its files (PGlite failed to initialize)'
      : undefined;
  if (what === undefined) return error;
  const where = database?.dataDir ? ` in ${database.dataDir}` : '';
  return new ActivityTrackingError('ERR_AT_DATABASE', `The embedded database${where} ${what}: either another process is changing its files without the folder's lock (an older version of this package, or another program using PGlite), or the files are damaged. Fix: stop every other process using the folder and run this again; if it happens again, restore the folder from a backup, or move the trail to a PostgreSQL server with DATABASE_URL`, { cause: error });
}

export function isPgLite(knex: Knex): boolean {
  const client = knex.client as { pglite?: unknown; constructor: { name: string } };
  return client.constructor.name.includes('PGLite') || client.pglite !== undefined;
}
