/** Where the trail is kept and how it is written: the store options, their defaults and their checks. */
import type { Knex } from 'knex';
import type { KeyObject } from 'node:crypto';
import { resolveSigningKey, SIGNING_KEY_ENV, writerKey, type BatchSigningKey } from '../integrity/batchSignatures';
import { messageOf } from '../util/messageOf';
import { checkBoolean, invalid, invalidSecret, optionOrEnv, redactUrl } from '../util/optionChecks';

export interface StoreOptions {
  /**
   * PostgreSQL connection string or a knex instance. Environment: `DATABASE_URL`, read when the
   * option is not given.
   * @default the embedded database, under `dataDir`
   */
  database?: string | Knex;
  /**
   * Where the embedded database, the journal and the session cookie key live (the last two on
   * PostgreSQL too), private to the process's user: folders 0700, files 0600. Environment:
   * `ACTIVITY_DATA_DIR`, read when the option is not given.
   * @default './.activity-data'
   */
  dataDir?: string;
  /**
   * Create or update the tables on a PostgreSQL server at start-up (the embedded database always
   * migrates itself).
   * @default false
   */
  autoMigrate?: boolean;
  /**
   * Run each tenant-scoped report's queries in a transaction that sets the PostgreSQL setting
   * `activity_tracking.tenant_id`, for the row-level security policies of `enableRowLevelSecurity`
   * (or `activity-tracking rls enable`) to filter as a second wall. Ignored on the embedded
   * database.
   * @default false
   */
  rowLevelSecurity?: boolean;
  /**
   * The writer's signing key: every batch appended to the trail is signed with it as it is written,
   * and `verify` with the same key reports rows no signed batch covers (`unsigned_rows`). An
   * HMAC-SHA256 secret (16+ characters) or an Ed25519 private key (PEM or KeyObject). Every process
   * that writes (app instances, the CLI's cleanup) needs it. Environment: `ACTIVITY_SIGNING_KEY`,
   * read when the option is not given.
   * @default none
   */
  signingKey?: string | KeyObject;
}

export const STORE_DEFAULTS = {
  dataDir: './.activity-data',
  autoMigrate: false,
  rowLevelSecurity: false,
} as const satisfies { [K in keyof StoreOptions]?: unknown };

export interface ResolvedStoreOptions {
  database: { kind: 'embedded'; dataDir: string } | { kind: 'postgres'; url: string } | { kind: 'knex'; knex: Knex };
  /** ACTIVITY_DATA_DIR or `dataDir`, on PostgreSQL too: the journal's default home and the session cookie key's. */
  dataDir: string;
  autoMigrate: boolean;
  rowLevelSecurity: boolean;
  /** The resolved `signingKey` option (or ACTIVITY_SIGNING_KEY), able to sign; null when none is set. */
  signingKey: BatchSigningKey | null;
}

export function resolveStoreOptions(opts: StoreOptions, env: NodeJS.ProcessEnv): ResolvedStoreOptions {
  const autoMigrate = opts.autoMigrate ?? STORE_DEFAULTS.autoMigrate;
  checkBoolean('autoMigrate', autoMigrate);
  const rowLevelSecurity = opts.rowLevelSecurity ?? STORE_DEFAULTS.rowLevelSecurity;
  checkBoolean('rowLevelSecurity', rowLevelSecurity);
  const dataDir = resolveDataDir(opts, env);
  return { database: resolveDatabase(opts, env, dataDir), dataDir, autoMigrate, rowLevelSecurity, signingKey: resolveWriterSigningKey(opts, env) };
}

function resolveDataDir(opts: StoreOptions, env: NodeJS.ProcessEnv): string {
  const dataDir = opts.dataDir ?? (env['ACTIVITY_DATA_DIR'] || STORE_DEFAULTS.dataDir);
  if (typeof dataDir !== 'string' || dataDir.trim() === '') throw invalid('dataDir', dataDir, 'pass a folder path');
  return dataDir;
}

function resolveDatabase(opts: StoreOptions, env: NodeJS.ProcessEnv, dataDir: string): ResolvedStoreOptions['database'] {
  const { database } = opts;
  if (database !== undefined && typeof database !== 'string') {
    if (typeof database === 'function' && typeof (database as Knex).raw === 'function') return { kind: 'knex', knex: database };
    throw invalid('database', database, 'pass a postgres:// connection string or a knex instance');
  }
  const { name, value: url } = optionOrEnv('database', database, env, 'DATABASE_URL');
  if (url === undefined) return { kind: 'embedded', dataDir };
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw invalid(name, redactUrl(url),
      'use a connection string such as postgres://user:password@host:5432/dbname, or unset it for the embedded database');
  }
  return { kind: 'postgres', url };
}

/** The option, else ACTIVITY_SIGNING_KEY; a key that cannot sign (an Ed25519 public key) is refused. */
function resolveWriterSigningKey(opts: StoreOptions, env: NodeJS.ProcessEnv): BatchSigningKey | null {
  const { name, value } = optionOrEnv('signingKey', opts.signingKey, env, SIGNING_KEY_ENV);
  if (value === undefined) return null;
  try {
    return writerKey(resolveSigningKey(value, name), name);
  } catch (error) {
    throw invalidSecret(name, messageOf(error, { withoutCode: true }));
  }
}
