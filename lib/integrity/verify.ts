import { ActivityTrackingError } from '../errors';
import { GENESIS_HASH } from './encoding';
import { verifyCheckpoint, type CheckpointKey, type SignedCheckpoint } from './checkpoint';
import { checkBatchSignatures, resolveSigningKey, type BatchSigningKey, type SigningKeyInput } from './batchSignatures';
import { createdMs, rowHashOf, startMs, type HashInputs } from './recordEncoding';
import { forgedRetentionRun, RetentionTrail, retentionRecordOf, type RetentionProblem } from './retentionTrail';
import { messageOf } from '../util/messageOf';
import type { Database } from '../store/database';
import { chainRowsAfter, databaseAnswers, firstPosition, readErrorMessage, rowWithHash } from '../store/chain/rows';

/** What broke the chain first. */
export type IntegrityProblem =
  | 'content_changed'
  | 'row_missing'
  | 'rows_reordered'
  | 'chain_forked'
  | 'truncated'
  | 'checkpoint_mismatch'
  | 'bad_checkpoint'
  | 'checkpoint_key_mismatch'
  | 'retention_forged'
  | 'backdated'
  | 'unsigned_rows';

export const INTEGRITY_PROBLEMS: readonly IntegrityProblem[] = [
  'content_changed', 'row_missing', 'rows_reordered', 'chain_forked', 'truncated', 'checkpoint_mismatch', 'bad_checkpoint',
  'checkpoint_key_mismatch', 'retention_forged', 'backdated', 'unsigned_rows',
];

/**
 * How a checkpoint given to `verifyChain` compared with the chain; `key_mismatch`: it was signed
 * with another key than the one given, so it was not compared.
 */
export const CHECKPOINT_STATUSES = ['matched', 'mismatched', 'missing', 'removed_by_retention', 'not_reached', 'key_mismatch'] as const;
export type CheckpointStatus = typeof CHECKPOINT_STATUSES[number];

export interface ChainVerification {
  /** True when every kept row is intact and linked, and the checkpoint (if any) agrees. */
  ok: boolean;
  /** Rows found intact, from `verifiedFrom` to `verifiedTo`. */
  rowsChecked: number;
  /** First kept chain position (after the last retention run); null when no row was found intact. */
  verifiedFrom: number | null;
  /** Last position found intact; null when none was. */
  verifiedTo: number | null;
  /** row_hash at `verifiedTo`: what the next row must link to (with no row, the hash the chain starts from). */
  headHash: string;
  /**
   * Present when a checkpoint signed with the given key was given, and when one signed with another
   * key was (status `key_mismatch`: position, hash and createdAt are then what it claims, unchecked).
   */
  checkpoint?: { position: number; hash: string; createdAt: string; status: CheckpointStatus };
  /**
   * The first problem in chain order; absent when `ok`. `checkpoint_key_mismatch` is reported only
   * when the chain itself is intact: a problem in the chain comes first.
   */
  failure?: { position: number | null; problem: IntegrityProblem; message: string };
}

export interface VerifyChainOptions {
  /** A checkpoint taken earlier (`createCheckpoint`): detects rows removed from the end and a rewritten chain. */
  checkpoint?: SignedCheckpoint | unknown;
  /** Keys to check the checkpoint's signature with; default: the ACTIVITY_CHECKPOINT_* environment variables. */
  checkpointKey?: CheckpointKey;
  /** Rows per query, 1 to 10000 (default 1000). */
  pageSize?: number;
  /**
   * A row whose start_time is more than this many days before its created_at is reported as
   * `backdated`: nothing the package writes is held back that long (the journal replays within
   * days), so such a row was appended with a made-up start time. Whole days, 1 to 36500.
   * Default: ACTIVITY_BACKDATED_AFTER_DAYS, else 7.
   */
  backdatedAfterDays?: number;
  /**
   * The writer's signing key (for Ed25519 the public key is enough): rows of an intact chain in no
   * batch signed with it are reported as `unsigned_rows`. Default: signatures are not checked.
   */
  signingKey?: SigningKeyInput | BatchSigningKey;
  /** Called after each page of rows with the rows found intact so far and the last position read (for a progress bar). */
  onProgress?: (progress: VerifyProgress) => void;
}

/** How far a verification has come. */
export interface VerifyProgress {
  rowsChecked: number;
  position: number;
}

/** The default of `backdatedAfterDays`: longer than any outage the journal is meant to ride out. */
export const DEFAULT_BACKDATED_AFTER_DAYS = 7;
const BACKDATED_ENV = 'ACTIVITY_BACKDATED_AFTER_DAYS';

interface ChainRow {
  position: bigint;
  inputs: HashInputs;
}

interface Settings {
  onProgress?: (progress: VerifyProgress) => void;
  pageSize: number;
  backdatedAfterMs: number;
  backdatedAfterDays: number;
}

type Failure = NonNullable<ChainVerification['failure']>;

const DEFAULT_PAGE_SIZE = 1000;
/** Below every position, so rows forged before position 1 are seen too. */
const BEFORE_EVERY_POSITION = -(2n ** 63n);
/** How many rows back the reorder check follows prev_hash links. */
const REORDER_DEPTH = 4;
/** Retention that runs during verification removes rows under it; the walk restarts after it this often. */
const RESTARTS = 3;

/**
 * Walks the hash chain of user_activity from its first kept position to its head, in keyset pages
 * (memory stays flat at any table size), recomputing each row's hashes in JavaScript from the
 * documented encoding (lib/integrity/recordEncoding.ts: no function stored in the database is
 * trusted) and checking that it links to the row before, that a gap at the chain's start is
 * accounted for by the chain's own retention records, and that no row is backdated. Reports the
 * first problem in chain order; never throws for what it finds in the rows (only when the database
 * cannot be reached, the schema is missing, or an option is invalid).
 */
export async function verifyChain(db: Database, options: VerifyChainOptions = {}): Promise<ChainVerification> {
  const pageSize = Math.trunc(options.pageSize ?? DEFAULT_PAGE_SIZE);
  if (!(pageSize >= 1 && pageSize <= 10_000)) throw new RangeError('pageSize must be from 1 to 10000');
  const backdatedAfterDays = resolveBackdatedAfterDays(options.backdatedAfterDays);
  const settings: Settings = {
    pageSize, backdatedAfterDays, backdatedAfterMs: backdatedAfterDays * 86_400_000, ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  };
  const signingKey = options.signingKey === undefined ? undefined : resolveSigningKey(options.signingKey, 'signingKey');
  let checkpoint: SignedCheckpoint | undefined;
  let otherKey: { checkpoint: SignedCheckpoint; reason: string } | undefined;
  if (options.checkpoint !== undefined) {
    const check = verifyCheckpoint(options.checkpoint, options.checkpointKey);
    if (check.valid) {
      checkpoint = check.checkpoint;
    } else if (check.problem === 'checkpoint_key_mismatch' && check.checkpoint) {
      // Signed with another key: it says nothing about the chain, which is still checked on its own.
      otherKey = { checkpoint: check.checkpoint, reason: check.reason };
    } else {
      const position = (options.checkpoint as { position?: unknown } | null)?.position;
      return {
        ok: false, rowsChecked: 0, verifiedFrom: null, verifiedTo: null, headHash: GENESIS_HASH,
        failure: { position: typeof position === 'number' && Number.isSafeInteger(position) ? position : null, problem: 'bad_checkpoint', message: `The checkpoint is not trustworthy: ${check.reason}` },
      };
    }
  }
  let result: ChainVerification | 'restart';
  for (let attempt = 0; ; attempt += 1) {
    result = await walk(db, settings, checkpoint, attempt < RESTARTS);
    if (result !== 'restart') break;
  }
  if (!result.ok) return withOtherKey(result, otherKey);
  // Checks of the chain as a whole, once every row in it was found intact, come here.
  const unsigned = signingKey ? await checkBatchSignatures(db, signingKey, result.verifiedTo) : undefined;
  return withOtherKey(unsigned ? { ...result, ok: false, failure: unsigned } : result, otherKey);
}

/** The result with the checkpoint of another key in it, and as the failure when there is no other. */
function withOtherKey(result: ChainVerification, otherKey: { checkpoint: SignedCheckpoint; reason: string } | undefined): ChainVerification {
  if (otherKey === undefined) return result;
  const { position, hash, createdAt } = otherKey.checkpoint;
  return {
    ...result,
    ok: false,
    checkpoint: { position, hash, createdAt, status: 'key_mismatch' },
    failure: result.failure ?? { position, problem: 'checkpoint_key_mismatch', message: otherKey.reason },
  };
}

/** The option, else the environment variable, else the default; throws naming the one that is wrong. */
export function resolveBackdatedAfterDays(option: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  if (option !== undefined) {
    if (!Number.isInteger(option) || option < 1 || option > 36_500) {
      throw new ActivityTrackingError('ERR_AT_INVALID_OPTION', `Invalid backdatedAfterDays: ${JSON.stringify(option)}. Fix: pass a whole number of days from 1 to 36500, or leave it out for ${DEFAULT_BACKDATED_AFTER_DAYS}.`);
    }
    return option;
  }
  const raw = env[BACKDATED_ENV]?.trim();
  if (raw === undefined || raw === '') return DEFAULT_BACKDATED_AFTER_DAYS;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 36_500) {
    throw new ActivityTrackingError('ERR_AT_INVALID_ENV', `Invalid environment variable ${BACKDATED_ENV}=${JSON.stringify(raw)}. Fix: set it to a whole number of days from 1 to 36500, or unset it for the default ${DEFAULT_BACKDATED_AFTER_DAYS}.`);
  }
  return Number(raw);
}

async function walk(db: Database, settings: Settings, checkpoint: SignedCheckpoint | undefined, mayRestart: boolean): Promise<ChainVerification | 'restart'> {
  const first = await firstPosition(db);
  const checkpointStatus: { value: CheckpointStatus } = { value: 'not_reached' };
  const checkpointOf = (): Pick<ChainVerification, 'checkpoint'> => (checkpoint
    ? { checkpoint: { position: checkpoint.position, hash: checkpoint.hash, createdAt: checkpoint.createdAt, status: checkpointStatus.value } }
    : {});
  // A problem before the first kept position: nothing in the chain can be called verified.
  const gapResult = (problem: IntegrityProblem, position: number, message: string): ChainVerification => ({
    ok: false, rowsChecked: 0, verifiedFrom: null, verifiedTo: null, headHash: GENESIS_HASH, ...checkpointOf(), failure: { position, problem, message },
  });

  const forgedRun = await forgedRetentionRun(db, first);
  if (forgedRun) {
    if (mayRestart && (await firstPosition(db)) !== first) return 'restart';
    return gapResult('retention_forged', forgedRun.position, forgedRun.message);
  }

  let start: bigint | null = null;
  let expected = 1n;
  let prevHash = GENESIS_HASH;
  let rowsChecked = 0;
  let trail: RetentionTrail | null = null;
  const result = (failure?: Failure): ChainVerification => ({
    ok: failure === undefined,
    rowsChecked,
    verifiedFrom: rowsChecked > 0 && start !== null ? Number(start) : null,
    verifiedTo: rowsChecked > 0 ? Number(expected - 1n) : null,
    headHash: prevHash,
    ...checkpointOf(),
    ...(failure ? { failure } : {}),
  });
  const retentionFailure = (found: RetentionProblem): ChainVerification => (found.inGap
    ? gapResult(found.problem ?? 'retention_forged', found.position, found.message)
    : result({ position: found.position, problem: found.problem ?? 'retention_forged', message: found.message }));

  let cursor = BEFORE_EVERY_POSITION;
  for (;;) {
    let page: ChainRow[];
    try {
      page = (await chainRowsAfter(db, cursor, settings.pageSize)).map(chainRowOf);
    } catch (error) {
      await rethrowUnlessAboutTheRows(db, error);
      return result({ position: Number(expected), problem: 'content_changed', message: `The rows from position ${expected} on cannot be read: ${briefMessageOf(error)}` });
    }
    for (const row of page) {
      if (start === null) {
        // The first row fixes where the chain starts: position 1, or after what retention removed.
        if (row.position > 1n) {
          expected = row.position;
          prevHash = row.inputs.prevHash ?? GENESIS_HASH;
        }
        start = expected;
        trail = new RetentionTrail(start, prevHash, checkpoint ? BigInt(checkpoint.position) : null);
      }
      if (row.position > expected && mayRestart && ((await firstPosition(db)) ?? 0n) > expected) return 'restart';
      const failure = await checkRow(db, row, expected, prevHash, trail);
      if (failure) return result(failure);
      const backdated = backdatedFailure(row, settings);
      if (backdated) return result(backdated);
      const seen = (trail as RetentionTrail).see(row.position, startMs(row.inputs), createdMs(row.inputs), retentionRecordOf(row.inputs, row.position));
      if (seen === 'still_there') {
        if (mayRestart) return 'restart';
        return result({ position: Number(row.position), problem: 'retention_forged', message: `The retention record at position ${row.position} says rows were removed that are still in the chain (it starts at ${start})` });
      }
      if (seen) return retentionFailure(seen);
      if (checkpoint && BigInt(checkpoint.position) === row.position) {
        checkpointStatus.value = row.inputs.rowHash === checkpoint.hash ? 'matched' : 'mismatched';
        if (checkpointStatus.value === 'mismatched') {
          return result({ position: checkpoint.position, problem: 'checkpoint_mismatch', message: `The checkpoint of ${checkpoint.createdAt} says position ${checkpoint.position} had hash ${checkpoint.hash}; it now has ${row.inputs.rowHash}: the chain was rewritten from there or before` });
        }
      }
      rowsChecked += 1;
      expected += 1n;
      prevHash = row.inputs.rowHash as string;
    }
    if (page.length > 0) settings.onProgress?.({ rowsChecked, position: Number((page[page.length - 1] as ChainRow).position) });
    if (page.length < settings.pageSize) break;
    cursor = (page[page.length - 1] as ChainRow).position;
  }

  const gapProblem = trail?.finish();
  if (gapProblem) return retentionFailure(gapProblem);

  if (checkpoint && start !== null && BigInt(checkpoint.position) < start) {
    // Removed by retention: compared with what the chain's retention records say about it.
    const position = BigInt(checkpoint.position);
    const removedEnd = (trail as RetentionTrail).removedEnd;
    const covering = (trail as RetentionTrail).covering;
    const recorded = position === 0n ? GENESIS_HASH
      : removedEnd && removedEnd.position === position ? removedEnd.hash
        : covering && covering.to === position ? covering.lastRemovedHash : undefined;
    checkpointStatus.value = recorded === undefined ? 'removed_by_retention' : recorded === checkpoint.hash ? 'matched' : 'mismatched';
    if (checkpointStatus.value === 'mismatched') {
      return gapResult('checkpoint_mismatch', checkpoint.position, `The checkpoint of ${checkpoint.createdAt} says position ${checkpoint.position} had hash ${checkpoint.hash}; the chain's retention record says ${recorded}`);
    }
  } else if (checkpoint && start === null && checkpoint.position === 0) {
    checkpointStatus.value = checkpoint.hash === GENESIS_HASH ? 'matched' : 'mismatched';
    if (checkpointStatus.value === 'mismatched') {
      return result({ position: 0, problem: 'checkpoint_mismatch', message: `The checkpoint of ${checkpoint.createdAt} says the empty chain had hash ${checkpoint.hash}, not the genesis hash` });
    }
  }

  if (checkpoint && BigInt(checkpoint.position) >= expected && checkpointStatus.value === 'not_reached') {
    checkpointStatus.value = 'missing';
    return result({
      position: Number(expected), problem: 'truncated',
      message: `The checkpoint of ${checkpoint.createdAt} covers position ${checkpoint.position}, but the chain ends at ${expected - 1n}: rows were removed from its end`,
    });
  }
  return result();
}

function chainRowOf(inputs: HashInputs): ChainRow {
  return { position: BigInt(inputs.position), inputs };
}

function backdatedFailure(row: ChainRow, settings: Settings): Failure | undefined {
  const started = startMs(row.inputs);
  const created = createdMs(row.inputs);
  if (started === null || created === null || !(created - started > settings.backdatedAfterMs)) return undefined;
  const days = Math.floor((created - started) / 86_400_000);
  return {
    position: Number(row.position), problem: 'backdated',
    message: `The row at position ${row.position} started ${days} day(s) before it was stored (start_time ${new Date(started).toISOString()}, created_at ${new Date(created).toISOString()}), more than ${settings.backdatedAfterDays} day(s): it was appended with a made-up start time`,
  };
}

/** Undefined when the row is where the chain expects it, hashes to what it stores and links to the row before. */
async function checkRow(db: Database, row: ChainRow, expected: bigint, prevHash: string, trail: RetentionTrail | null): Promise<Failure | undefined> {
  const at = Number(row.position);
  if (row.position < expected) {
    return { position: at, problem: 'content_changed', message: `A row sits at position ${row.position}, before the chain's first position ${expected}: it was added outside the write path` };
  }
  if (row.position > expected) {
    return { position: Number(expected), problem: 'row_missing', message: `Position ${expected} is missing: the next row is at ${row.position}` };
  }
  const stored = row.inputs.rowHash;
  const selfConsistent = stored !== null && rowHashOf(row.inputs) === stored;
  if (selfConsistent && row.inputs.prevHash === prevHash) return undefined;
  if (selfConsistent) {
    return { position: at, problem: 'chain_forked', message: `The row at position ${row.position} is hashed correctly but links to ${row.inputs.prevHash ?? 'nothing'}, not to the row before (${prevHash}): another chain was grafted on here` };
  }
  const moved = await validPositionElsewhere(db, row, trail);
  if (moved !== undefined) {
    return { position: at, problem: 'rows_reordered', message: `The row at position ${row.position} carries a valid hash for position ${moved}: rows were moved` };
  }
  return { position: at, problem: 'content_changed', message: `The row at position ${row.position} no longer matches its hash: its content or hash was changed` };
}

/**
 * The other position this row's stored hash is valid for, found through the row its prev_hash
 * names (following such links a few rows back, since that row may have moved too). Failure path
 * only: row_hash has no index, and this costs a few scans.
 */
async function validPositionElsewhere(db: Database, row: ChainRow, trail: RetentionTrail | null): Promise<bigint | undefined> {
  try {
    const position = await originalPosition(db, row, REORDER_DEPTH, trail);
    return position !== undefined && position !== row.position ? position : undefined;
  } catch {
    // A row too damaged to classify further is still a changed row.
    return undefined;
  }
}

async function originalPosition(db: Database, row: ChainRow, depth: number, trail: RetentionTrail | null): Promise<bigint | undefined> {
  const { rowHash, prevHash } = row.inputs;
  if (rowHash !== null && rowHashOf(row.inputs) === rowHash) return row.position;
  if (depth === 0 || prevHash === null || rowHash === null) return undefined;
  const before = await predecessor(db, prevHash, row.position, depth, trail);
  if (before === undefined) return undefined;
  const candidate = before + 1n;
  return rowHashOf(row.inputs, candidate.toString()) === rowHash ? candidate : undefined;
}

/** The original position of the row whose row_hash is `hash`: 0 for genesis, the end of the removed range, or a stored row's (itself possibly moved). */
async function predecessor(db: Database, hash: string, from: bigint, depth: number, trail: RetentionTrail | null): Promise<bigint | undefined> {
  if (hash === GENESIS_HASH) return 0n;
  const removedEnd = trail?.removedEnd;
  if (removedEnd && removedEnd.hash === hash) return removedEnd.position;
  const found = await rowWithHash(db, hash, from);
  if (found === undefined) return undefined;
  return originalPosition(db, chainRowOf(found), depth - 1, trail);
}

/** SQLSTATE classes that say nothing about the rows: connection, schema, resources, operator, system. */
const NOT_ABOUT_THE_ROWS = /^(08|42|53|57|58|XX)/;

/**
 * A page that fails to read is reported as a broken chain only when the database is otherwise fine
 * and the error is about data; an unreachable database or a missing schema is thrown to the caller.
 */
async function rethrowUnlessAboutTheRows(db: Database, error: unknown): Promise<void> {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || NOT_ABOUT_THE_ROWS.test(code)) throw error;
  if (!(await databaseAnswers(db))) throw error;
}

function briefMessageOf(error: unknown): string {
  return readErrorMessage(messageOf(error)).slice(0, 300);
}
