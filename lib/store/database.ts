import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { ResolvedConfig } from '../config';
import type { Logger } from '../types';
import { preparePrivateDirSync, reportFailures } from '../privateFiles';
import { openPrivatePGlite } from './privateNodeFs';

/** What the store's queries run on: a connection pool or a transaction. */
export type Database = Knex;

/** A database the tracker or the CLI opened, and whether it must close it. */
export interface OpenedDatabase {
  knex: Database;
  kind: 'embedded' | 'postgres';
  /** Whether the tracker created the connection and so must close it. */
  owned: boolean;
}

/** The embedded database when no server is named, a pooled pg connection when one is. */
export function openDatabase(config: ResolvedConfig['database'], logger: Logger): OpenedDatabase {
  // knex's own warnings (a refused connection, say) repeat what the recorder reports; keep them at debug.
  const log = { warn: (m: unknown) => logger.debug(String(m)), error: (m: unknown) => logger.debug(String(m)), debug: () => undefined, deprecate: (m: unknown) => logger.debug(String(m)) };
  switch (config.kind) {
    case 'knex':
      return { knex: config.knex, kind: isPgLite(config.knex) ? 'embedded' : 'postgres', owned: false };
    case 'postgres':
      return {
        knex: knexFactory({ client: 'pg', connection: config.url, pool: { min: 0, max: 10 }, log }),
        kind: 'postgres',
        owned: true,
      };
    case 'embedded': {
      const dataDir = path.resolve(config.dataDir);
      // A folder older versions left readable to others is made private before the database opens.
      reportFailures(preparePrivateDirSync(dataDir), logger);
      const pglite = openPrivatePGlite(dataDir, logger);
      // Required here, not imported at the top, so apps on PostgreSQL never load the WebAssembly build.
      const ClientPgLite = require('knex-pglite') as typeof Knex.Client;
      return {
        knex: knexFactory({ client: ClientPgLite, dialect: 'postgres', connection: () => ({ pglite }), log } as Knex.Config),
        kind: 'embedded',
        owned: true,
      };
    }
  }
}

export function isPgLite(knex: Knex): boolean {
  const client = knex.client as { pglite?: unknown; constructor: { name: string } };
  return client.constructor.name.includes('PGLite') || client.pglite !== undefined;
}
