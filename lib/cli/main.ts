#!/usr/bin/env node
import { partitionOptionsOf } from '../jobs/options';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { resolveConfig, type ResolvedConfig } from '../config';
import { removeExpiredActivity } from '../jobs/retention';
import { createCheckpoint, resolveCheckpointKey } from '../integrity/checkpoint';
import { verifyChain, type ChainVerification } from '../integrity/verify';
import { explainDatabaseError, openDatabase, type OpenedDatabase } from '../store/database';
import { assertSchemaCurrent, migrate } from '../store/schema';
import { grantWriterRole } from '../store/writerRole';
import { SIGNING_KEY_ENV, signingKeyFromEnvironment, type BatchSigningKey } from '../integrity/batchSignatures';
import { disableRowLevelSecurity, enableRowLevelSecurity, rowLevelSecurityStatus, TENANT_SETTING } from '../store/rowLevelSecurity';
import { messageOf } from '../util/messageOf';
import { folderArchiveSink } from '../archive/folderSink';
import { readBackArchive } from '../archive/readBack';
import { verifyArchiveAgainstChain } from '../archive/againstChain';
import { describeArchiveCheck } from '../archive/report';
import { isArchiveName } from '../archive/sink';
import { resolveSigningKey } from '../integrity/batchSignatures';

const USAGE = `Usage: activity-tracking <command>

Commands:
  migrate   Create or update the activity tracking tables.
            Uses DATABASE_URL, or the embedded database under ACTIVITY_DATA_DIR (default ./.activity-data).
            The embedded database can be open in one process at a time: a command run while the app
            has it open stops at once (exit code 2) and names the app's process; stop the app first,
            or use PostgreSQL.
  verify [--checkpoint FILE] [--backdated-after DAYS] [--json]
            Check the hash chain of the activity trail: every row unchanged, none missing, none moved.
            With --checkpoint, also that the chain still holds the signed checkpoint in FILE (catches
            rows removed from the end). With ACTIVITY_SIGNING_KEY set (the writer's key, or for Ed25519
            its public key), also that every row is in a batch signed with it (unsigned_rows).
            A row that started more than DAYS (default ACTIVITY_BACKDATED_AFTER_DAYS, else 7) before
            it was stored is reported as backdated.
            Exit code 0 intact, 1 broken, 2 usage or connection error, 3 the chain is intact but the
            checkpoint was signed with another key than the one set (its keyId names the key that
            signed it; if the key set is that key, the checkpoint was changed: do not trust it).
  checkpoint
            Print a signed checkpoint of the chain head as JSON; keep it outside the database.
            Signs with ACTIVITY_CHECKPOINT_PRIVATE_KEY (Ed25519 PEM) or ACTIVITY_CHECKPOINT_KEY (HMAC
            secret, 16+ characters); verify reads those or ACTIVITY_CHECKPOINT_PUBLIC_KEY.
  cleanup [--dry-run]
            Remove activity older than ACTIVITY_LOG_RETENTION_DAYS (default 90) from the beginning of
            the chain, in batches, recording each batch in the chain so that verify still passes.
            With --dry-run, only say what would be removed.
  verify-archive FILE [--key-env NAME] [--archive-only]
            Check a retention archive: FILE is its .ndjson.gz or its .manifest.json (the other is
            read from beside it). Checks that the data file is the one the manifest describes
            (SHA-256, row count, positions), that every row still matches its hash and links to the
            row before, and, with ACTIVITY_SIGNING_KEY set (or the variable NAME given; for Ed25519
            the public key is enough), that the manifest is signed with that key. Then, unless
            --archive-only, against the chain in the database (DATABASE_URL, or the embedded one if
            ACTIVITY_DATA_DIR exists): the retention record that removed the rows must say the same
            range, last hash and cutoff. Exit code 0 intact, 1 problems found, 2 usage or connection
            error.
  grant --role NAME
            PostgreSQL only; run as the tables' owner (the role that runs migrate), again after each
            migrate. Lets an existing role that owns nothing run the app: read the tables, append to
            the trail through the package's functions, add alerts and batch signatures. It cannot
            change trail rows, delete them other than through a retention record it appends,
            replace a function or disable a trigger (set ACTIVITY_SIGNING_KEY so that verify
            reports rows, retention records included, that someone without the key added).
  rls enable|disable|status
            PostgreSQL only. enable: add row-level security policies to user_activity and
            activity_sessions, so a connection that sets ${TENANT_SETTING} sees only that
            tenant's rows (and activities about entities it owns); connections that do not set it
            (the writer, the jobs) see every row. Owners and superusers are exempt: read as another
            role. disable: remove them. status: say whether they are in place.
  help      Show this text.
`;

/** Exit codes of verify and checkpoint. */
const OK = 0;
const BROKEN = 1;
const ERROR = 2;
/** An intact chain, and a checkpoint that other key signed: nothing shown broken, nothing proven whole. */
const CHECKPOINT_KEY_MISMATCH = 3;

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'migrate':
      return runMigrate(out, err);
    case 'verify':
      return runVerify(args, out, err);
    case 'checkpoint':
      return runCheckpoint(args, out, err);
    case 'cleanup':
      return runCleanup(args, out, err);
    case 'rls':
      return runRowLevelSecurity(args, out, err);
    case 'verify-archive':
      return runVerifyArchive(args, out, err);
    case 'grant':
      return runGrant(args, out, err);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      out.write(`Unknown command "${command}".\n\n${USAGE}`);
      return 1;
  }
}

async function runMigrate(out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  return withDatabase('migrate', err, async (database, config) => {
    const { applied, partitionsCreated } = await migrate(database.knex, partitionOptionsOf(config));
    const where = database.kind === 'embedded' ? `the embedded database (${config.database.kind === 'embedded' ? config.database.dataDir : ''})` : 'PostgreSQL';
    out.write(applied.length === 0
      ? `Activity tracking tables in ${where} are up to date.\n`
      : `Applied ${applied.length} migration(s) to ${where}: ${applied.join(', ')}\n`);
    if (partitionsCreated.length > 0) out.write(`Created partition(s) ${partitionsCreated.join(', ')}\n`);
    return OK;
  }, { schemaMayBeBehind: true });
}

async function runVerify(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let checkpointFile: string | undefined;
  let backdatedAfter: string | undefined;
  let json = false;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] as string;
    if (arg === '--json') json = true;
    else if (arg === '--checkpoint' && args[i + 1] !== undefined && checkpointFile === undefined) checkpointFile = args[++i];
    else if (arg.startsWith('--checkpoint=') && checkpointFile === undefined) checkpointFile = arg.slice('--checkpoint='.length);
    else if (arg === '--backdated-after' && args[i + 1] !== undefined && backdatedAfter === undefined) backdatedAfter = args[++i];
    else if (arg.startsWith('--backdated-after=') && backdatedAfter === undefined) backdatedAfter = arg.slice('--backdated-after='.length);
    else return usageError(err, `verify does not take "${arg.slice(0, 100)}"`);
  }
  let backdatedAfterDays: number | undefined;
  if (backdatedAfter !== undefined) {
    if (!/^\d{1,5}$/.test(backdatedAfter) || Number(backdatedAfter) < 1 || Number(backdatedAfter) > 36_500) {
      return usageError(err, `--backdated-after takes a whole number of days from 1 to 36500, not "${backdatedAfter.slice(0, 100)}"`);
    }
    backdatedAfterDays = Number(backdatedAfter);
  }
  let signingKey: BatchSigningKey | null;
  try {
    signingKey = signingKeyFromEnvironment();
  } catch (error) {
    return failWith(err, messageOf(error));
  }
  let checkpoint: unknown;
  if (checkpointFile !== undefined) {
    try {
      checkpoint = JSON.parse(readFileSync(checkpointFile, 'utf8')) as unknown;
    } catch (error) {
      return failWith(err, `cannot read the checkpoint file ${checkpointFile}: ${messageOf(error)}`);
    }
  }
  return withDatabase('verify', err, async (database) => {
    const result = await verifyChain(database.knex, {
      ...(checkpoint === undefined ? {} : { checkpoint }), ...(signingKey ? { signingKey } : {}), ...(backdatedAfterDays === undefined ? {} : { backdatedAfterDays }),
    });
    out.write(json ? `${JSON.stringify(result, null, 2)}\n` : describeVerification(result));
    if (result.ok) return OK;
    return result.failure?.problem === 'checkpoint_key_mismatch' ? CHECKPOINT_KEY_MISMATCH : BROKEN;
  });
}

async function runCheckpoint(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  if (args.length > 0) return usageError(err, `checkpoint takes no arguments, not "${(args[0] as string).slice(0, 100)}"`);
  try {
    resolveCheckpointKey();
  } catch (error) {
    return failWith(err, messageOf(error));
  }
  return withDatabase('checkpoint', err, async (database) => {
    out.write(`${JSON.stringify(await createCheckpoint(database.knex), null, 2)}\n`);
    return OK;
  });
}

async function runCleanup(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const dryRun = args.includes('--dry-run');
  const unknown = args.find((a) => a !== '--dry-run');
  if (unknown !== undefined) return usageError(err, `cleanup does not take "${unknown.slice(0, 100)}"`);
  return withDatabase('cleanup', err, async (database, config) => {
    if (!dryRun && config.signingKey === null && (await database.knex('activity_chain_signatures').first('position')) !== undefined) {
      // Its retention records would be unsigned, and verify would report the trail as unsigned_rows from there on.
      return failWith(err, `The trail's batches are signed, but ${SIGNING_KEY_ENV} is not set, so cleanup would add unsigned retention records that verify reports as unsigned_rows. Fix: set ${SIGNING_KEY_ENV} to the writer's signing key`);
    }
    const result = await removeExpiredActivity(database.knex, { retentionDays: config.retentionDays, job: 'cleanup-command', dryRun, signingKey: config.signingKey, archive: config.retentionArchive });
    const range = result.fromPosition === null ? '' : ` (chain positions ${result.fromPosition} to ${result.toPosition})`;
    out.write(dryRun
      ? `Would remove ${result.removed} activity row(s) older than ${result.cutoff}${range}. Nothing was changed.\n`
      : `Removed ${result.removed} activity row(s) older than ${result.cutoff}${range} in ${result.batches} batch(es)${result.partitionsDropped.length > 0 ? `, ${result.partitionsDropped.length} of them whole partitions (${result.partitionsDropped.join(', ')})` : ''}${result.archives.length > 0 ? `; archived first as ${result.archives.map((a) => a.name).join(', ')}` : ''}.\n`);
    return OK;
  }, { appends: true });
}

const ARCHIVE_SUFFIXES = ['.ndjson.gz', '.manifest.json'];

async function runVerifyArchive(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let file: string | undefined;
  let keyName = SIGNING_KEY_ENV;
  let archiveOnly = false;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] as string;
    if (arg === '--archive-only') archiveOnly = true;
    else if (arg === '--key-env' && args[i + 1] !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(args[i + 1] as string)) keyName = args[++i] as string;
    else if (!arg.startsWith('-') && file === undefined) file = arg;
    else return usageError(err, `verify-archive does not take "${arg.slice(0, 100)}"`);
  }
  if (file === undefined) return usageError(err, 'verify-archive takes the archive\'s .ndjson.gz or .manifest.json file');
  const suffix = ARCHIVE_SUFFIXES.find((s) => (file as string).endsWith(s));
  const name = suffix === undefined ? '' : path.basename(file).slice(0, -suffix.length);
  if (!isArchiveName(name)) {
    return usageError(err, `"${file.slice(0, 200)}" is not an archive file: give its NAME.ndjson.gz or NAME.manifest.json, NAME as retention wrote it (letters, digits, ".", "_", "-")`);
  }
  let signingKey: BatchSigningKey | null = null;
  try {
    const value = process.env[keyName];
    if (value) signingKey = resolveSigningKey(value, keyName);
  } catch (error) {
    return failWith(err, messageOf(error));
  }
  const read = await readBackArchive(folderArchiveSink(path.dirname(file)), name, { signingKey });
  const report = (chain: Parameters<typeof describeArchiveCheck>[2], code: number): number => {
    out.write(describeArchiveCheck(file as string, read, chain, keyName));
    return code;
  };
  const manifest = read.manifest;
  if (manifest === null) return report({ skipped: 'the archive has no readable manifest' }, BROKEN);
  if (archiveOnly) return report({ skipped: '--archive-only' }, read.ok ? OK : BROKEN);
  let config: ResolvedConfig;
  try {
    config = resolveConfig({}, { ...process.env, [SIGNING_KEY_ENV]: undefined });
  } catch (error) {
    return failWith(err, messageOf(error));
  }
  if (config.database.kind === 'embedded' && !existsSync(config.database.dataDir)) {
    return report({ skipped: `no database is configured (DATABASE_URL is not set, and there is no embedded database in ${config.database.dataDir})` }, read.ok ? OK : BROKEN);
  }
  return withDatabase('verify-archive', err, async (database) => {
    const chain = await verifyArchiveAgainstChain(database.knex, manifest);
    return report(chain, read.ok && chain.ok ? OK : BROKEN);
  });
}

async function runGrant(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const [flag, role, ...rest] = args;
  if (flag !== '--role' || role === undefined || rest.length > 0) return usageError(err, `grant takes --role NAME, not "${args.join(' ').slice(0, 100)}"`);
  return withDatabase('grant', err, async (database) => {
    if (database.kind === 'embedded') return failWith(err, 'grant is for PostgreSQL: the embedded database has one user. Fix: set DATABASE_URL to the server, connected as the tables\' owner');
    const statements = await grantWriterRole(database.knex, role);
    out.write(`${statements.map((statement) => `${statement};`).join('\n')}\nRole "${role}" can now run the app as the writer.\n`);
    return OK;
  });
}

async function runRowLevelSecurity(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const [action, ...rest] = args;
  if ((action !== 'enable' && action !== 'disable' && action !== 'status') || rest.length > 0) {
    return usageError(err, `rls takes enable, disable or status, not "${args.join(' ').slice(0, 100)}"`);
  }
  return withDatabase('rls', err, async (database) => {
    if (action === 'enable') await enableRowLevelSecurity(database.knex);
    if (action === 'disable') await disableRowLevelSecurity(database.knex);
    const status = await rowLevelSecurityStatus(database.knex);
    out.write(Object.entries(status).map(([table, on]) => `${table}: row-level security ${on ? 'on' : 'off'}\n`).join(''));
    return OK;
  });
}

/**
 * Opens the database (DATABASE_URL, else the embedded one, whose folder it locks for the command's
 * length), checks the schema is current unless migrating, runs fn, closes it. Any error is exit
 * code 2, a folder another process holds (ERR_AT_DATA_DIR_IN_USE) included.
 */
async function withDatabase(
  command: string,
  err: NodeJS.WritableStream,
  fn: (database: OpenedDatabase, config: ResolvedConfig) => Promise<number>,
  { appends = false, schemaMayBeBehind = false } = {},
): Promise<number> {
  let database: OpenedDatabase | undefined;
  let code: number;
  try {
    // Only a command that appends to the trail signs: the others accept a key that only verifies.
    const config = resolveConfig({}, appends ? process.env : { ...process.env, [SIGNING_KEY_ENV]: undefined });
    database = openDatabase(config.database, config.logger, `activity-tracking ${command}`);
    if (!schemaMayBeBehind) await assertSchemaCurrent(database.knex);
    code = await fn(database, config);
  } catch (error) {
    code = failWith(err, messageOf(explainDatabaseError(error, database)));
  }
  try {
    await database?.close();
  } catch (error) {
    code = failWith(err, messageOf(explainDatabaseError(error, database)));
  }
  return code;
}

function describeVerification(result: ChainVerification): string {
  const lines = [result.rowsChecked > 0
    ? `Checked ${result.rowsChecked} row(s), chain positions ${result.verifiedFrom} to ${result.verifiedTo}.`
    : 'Checked 0 rows.'];
  if (result.checkpoint) lines.push(`Checkpoint of ${result.checkpoint.createdAt} at position ${result.checkpoint.position}: ${result.checkpoint.status.replace(/_/g, ' ')}.`);
  if (result.failure?.problem === 'checkpoint_key_mismatch') {
    lines.push(`OK: the hash chain is intact; head hash ${result.headHash}.`, `CHECKPOINT NOT CHECKED (checkpoint_key_mismatch): ${result.failure.message}`);
  } else {
    lines.push(result.failure
      ? `BROKEN at position ${result.failure.position ?? '-'} (${result.failure.problem}): ${result.failure.message}`
      : `OK: the hash chain is intact; head hash ${result.headHash}.`);
  }
  return `${lines.join('\n')}\n`;
}

function usageError(err: NodeJS.WritableStream, message: string): number {
  err.write(`activity-tracking: ${message}\n\n${USAGE}`);
  return ERROR;
}

function failWith(err: NodeJS.WritableStream, message: string): number {
  err.write(`activity-tracking: ${message}\n`);
  return ERROR;
}

if (require.main === module) {
  // A WebAssembly abort can also surface outside the command's promise: it is said plainly, never as "Aborted()".
  const fatal = (error: unknown): void => {
    process.stderr.write(`activity-tracking: ${messageOf(explainDatabaseError(error, undefined))}\n`);
    process.exit(ERROR);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (error: unknown) => {
      process.stderr.write(`activity-tracking: ${messageOf(explainDatabaseError(error, undefined))}\n`);
      process.exitCode = 1;
    },
  );
}
