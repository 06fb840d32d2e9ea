import type { Knex } from 'knex';
import { GENESIS_HASH, ROW_HASH_ARGUMENTS } from './encoding';
import { verifyCheckpoint, type CheckpointKey, type SignedCheckpoint } from './checkpoint';

/** What broke the chain first. */
export type IntegrityProblem =
  | 'content_changed'
  | 'row_missing'
  | 'rows_reordered'
  | 'chain_forked'
  | 'truncated'
  | 'checkpoint_mismatch'
  | 'bad_checkpoint';

export const INTEGRITY_PROBLEMS: readonly IntegrityProblem[] = [
  'content_changed', 'row_missing', 'rows_reordered', 'chain_forked', 'truncated', 'checkpoint_mismatch', 'bad_checkpoint',
];

/** How a checkpoint given to `verifyChain` compared with the chain. */
export type CheckpointStatus = 'matched' | 'mismatched' | 'missing' | 'removed_by_retention' | 'not_reached';

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
  /** Present when a correctly signed checkpoint was given. */
  checkpoint?: { position: number; hash: string; createdAt: string; status: CheckpointStatus };
  /** The first problem in chain order; absent when `ok`. */
  failure?: { position: number | null; problem: IntegrityProblem; message: string };
}

export interface VerifyChainOptions {
  /** A checkpoint taken earlier (`createCheckpoint`): detects rows removed from the end and a rewritten chain. */
  checkpoint?: SignedCheckpoint | unknown;
  /** Keys to check the checkpoint's signature with; default: the ACTIVITY_CHECKPOINT_* environment variables. */
  checkpointKey?: CheckpointKey;
  /** Rows per query, 1 to 10000 (default 1000). */
  pageSize?: number;
}

interface ChainRow {
  position: bigint;
  prevHash: string | null;
  rowHash: string | null;
  recomputed: string | null;
}

interface Start {
  /** The first position the chain must have. */
  position: bigint;
  /** The prev_hash the row there must carry. */
  prevHash: string;
  /** Whether a retention run removed the positions before it. */
  retained: boolean;
}

type Failure = NonNullable<ChainVerification['failure']>;

const DEFAULT_PAGE_SIZE = 1000;
/** Below every position, so rows forged before position 1 are seen too. */
const BEFORE_EVERY_POSITION = -(2n ** 63n);
/** How many rows back the reorder check follows prev_hash links. */
const REORDER_DEPTH = 4;
/** Retention that runs during verification removes rows under it; the walk restarts after it this often. */
const RESTARTS = 3;

const PAGE_SQL = `select t.chain_position::text as position, t.prev_hash, t.row_hash,
  activity_tracking_row_hash(${ROW_HASH_ARGUMENTS}) as recomputed
  from user_activity t where t.chain_position > ?::bigint order by t.chain_position limit ?`;
const HASH_AT_SQL = `select activity_tracking_row_hash(${ROW_HASH_ARGUMENTS.replace('t.chain_position', '?::bigint')}) as hash
  from user_activity t where t.chain_position = ?::bigint`;

/**
 * Walks the hash chain of user_activity from its first kept position to its head, in keyset pages
 * (memory stays flat at any table size), recomputing each row's hash in the database and checking
 * that it links to the row before. Reports the first problem in chain order; never throws for what
 * it finds in the rows (only when the database cannot be reached or the schema is missing).
 */
export async function verifyChain(knex: Knex, options: VerifyChainOptions = {}): Promise<ChainVerification> {
  const pageSize = Math.trunc(options.pageSize ?? DEFAULT_PAGE_SIZE);
  if (!(pageSize >= 1 && pageSize <= 10_000)) throw new RangeError('pageSize must be from 1 to 10000');
  let checkpoint: SignedCheckpoint | undefined;
  if (options.checkpoint !== undefined) {
    const check = verifyCheckpoint(options.checkpoint, options.checkpointKey);
    if (!check.valid) {
      const position = (options.checkpoint as { position?: unknown } | null)?.position;
      return {
        ok: false, rowsChecked: 0, verifiedFrom: null, verifiedTo: null, headHash: (await chainStart(knex)).prevHash,
        failure: { position: typeof position === 'number' && Number.isSafeInteger(position) ? position : null, problem: 'bad_checkpoint', message: `The checkpoint is not trustworthy: ${check.reason}` },
      };
    }
    checkpoint = check.checkpoint;
  }
  for (let attempt = 0; ; attempt += 1) {
    const result = await walk(knex, pageSize, checkpoint, attempt < RESTARTS);
    if (result !== 'restart') return result;
  }
}

async function walk(knex: Knex, pageSize: number, checkpoint: SignedCheckpoint | undefined, mayRestart: boolean): Promise<ChainVerification | 'restart'> {
  const start = await chainStart(knex);
  let expected = start.position;
  let prevHash = start.prevHash;
  let rowsChecked = 0;
  let checkpointStatus: CheckpointStatus = 'not_reached';
  const result = (failure?: Failure): ChainVerification => ({
    ok: failure === undefined,
    rowsChecked,
    verifiedFrom: rowsChecked > 0 ? Number(start.position) : null,
    verifiedTo: rowsChecked > 0 ? Number(expected - 1n) : null,
    headHash: prevHash,
    ...(checkpoint ? { checkpoint: { position: checkpoint.position, hash: checkpoint.hash, createdAt: checkpoint.createdAt, status: checkpointStatus } } : {}),
    ...(failure ? { failure } : {}),
  });

  if (checkpoint && BigInt(checkpoint.position) < start.position) {
    const covered = await hashBefore(knex, BigInt(checkpoint.position));
    checkpointStatus = covered === undefined ? 'removed_by_retention' : covered === checkpoint.hash ? 'matched' : 'mismatched';
    if (checkpointStatus === 'mismatched') {
      return result({ position: checkpoint.position, problem: 'checkpoint_mismatch', message: `The checkpoint of ${checkpoint.createdAt} says position ${checkpoint.position} had hash ${checkpoint.hash}; the retention record says ${covered}` });
    }
  }

  let cursor = start.retained ? start.position - 1n : BEFORE_EVERY_POSITION;
  for (;;) {
    let page: ChainRow[];
    try {
      page = await readPage(knex, cursor, pageSize);
    } catch (error) {
      await rethrowUnlessAboutTheRows(knex, error);
      return result({ position: Number(expected), problem: 'content_changed', message: `The rows from position ${expected} on cannot be read or hashed: ${messageOf(error)}` });
    }
    for (const row of page) {
      if (row.position > expected && mayRestart && (await chainStart(knex)).position > expected) return 'restart';
      const failure = await checkRow(knex, row, expected, prevHash);
      if (failure) return result(failure);
      if (checkpoint && BigInt(checkpoint.position) === row.position) {
        checkpointStatus = row.rowHash === checkpoint.hash ? 'matched' : 'mismatched';
        if (checkpointStatus === 'mismatched') {
          return result({ position: checkpoint.position, problem: 'checkpoint_mismatch', message: `The checkpoint of ${checkpoint.createdAt} says position ${checkpoint.position} had hash ${checkpoint.hash}; it now has ${row.rowHash}: the chain was rewritten from there or before` });
        }
      }
      rowsChecked += 1;
      expected += 1n;
      prevHash = row.rowHash as string;
    }
    if (page.length < pageSize) break;
    cursor = (page[page.length - 1] as ChainRow).position;
  }

  if (checkpoint && BigInt(checkpoint.position) >= expected) {
    checkpointStatus = 'missing';
    return result({
      position: Number(expected), problem: 'truncated',
      message: `The checkpoint of ${checkpoint.createdAt} covers position ${checkpoint.position}, but the chain ends at ${expected - 1n}: rows were removed from its end`,
    });
  }
  return result();
}

/** Where the chain must start: after the last retention run, linked to its last removed row; else position 1, linked to the genesis hash. */
async function chainStart(knex: Knex): Promise<Start> {
  const found = (await knex.raw('select to_position::text as position, last_removed_hash from activity_retention order by to_position desc limit 1')) as { rows: Array<{ position: string; last_removed_hash: string }> };
  const run = found.rows[0];
  return run ? { position: BigInt(run.position) + 1n, prevHash: run.last_removed_hash, retained: true } : { position: 1n, prevHash: GENESIS_HASH, retained: false };
}

/** The hash recorded for a position before the chain start: genesis at 0, a retention run's last removed row; undefined when nothing records it. */
async function hashBefore(knex: Knex, position: bigint): Promise<string | undefined> {
  if (position === 0n) return GENESIS_HASH;
  const found = (await knex.raw('select last_removed_hash from activity_retention where to_position = ?::bigint limit 1', [position.toString()])) as { rows: Array<{ last_removed_hash: string }> };
  return found.rows[0]?.last_removed_hash;
}

async function readPage(knex: Knex, after: bigint, limit: number): Promise<ChainRow[]> {
  const found = (await knex.raw(PAGE_SQL, [after.toString(), limit])) as { rows: Array<{ position: string; prev_hash: string | null; row_hash: string | null; recomputed: string | null }> };
  return found.rows.map((r) => ({ position: BigInt(r.position), prevHash: r.prev_hash, rowHash: r.row_hash, recomputed: r.recomputed }));
}

/** Undefined when the row is where the chain expects it, hashes to what it stores and links to the row before. */
async function checkRow(knex: Knex, row: ChainRow, expected: bigint, prevHash: string): Promise<Failure | undefined> {
  const at = Number(row.position);
  if (row.position < expected) {
    return { position: at, problem: 'content_changed', message: `A row sits at position ${row.position}, before the chain's first position ${expected}: it was added outside the write path` };
  }
  if (row.position > expected) {
    return { position: Number(expected), problem: 'row_missing', message: `Position ${expected} is missing: the next row is at ${row.position}` };
  }
  const selfConsistent = row.rowHash !== null && row.recomputed === row.rowHash;
  if (selfConsistent && row.prevHash === prevHash) return undefined;
  if (selfConsistent) {
    return { position: at, problem: 'chain_forked', message: `The row at position ${row.position} is hashed correctly but links to ${row.prevHash ?? 'nothing'}, not to the row before (${prevHash}): another chain was grafted on here` };
  }
  const moved = await validPositionElsewhere(knex, row);
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
async function validPositionElsewhere(knex: Knex, row: ChainRow): Promise<bigint | undefined> {
  try {
    const position = await originalPosition(knex, row, REORDER_DEPTH);
    return position !== undefined && position !== row.position ? position : undefined;
  } catch {
    // A row too damaged to classify further is still a changed row.
    return undefined;
  }
}

async function originalPosition(knex: Knex, row: ChainRow, depth: number): Promise<bigint | undefined> {
  if (row.rowHash !== null && row.recomputed === row.rowHash) return row.position;
  if (depth === 0 || row.prevHash === null || row.rowHash === null) return undefined;
  const before = await predecessor(knex, row.prevHash, row.position, depth);
  if (before === undefined) return undefined;
  const candidate = before + 1n;
  const found = (await knex.raw(HASH_AT_SQL, [candidate.toString(), row.position.toString()])) as { rows: Array<{ hash: string | null }> };
  return found.rows[0]?.hash === row.rowHash ? candidate : undefined;
}

/** The original position of the row whose row_hash is `hash`: 0 for genesis, a retention run's end, or a stored row's (itself possibly moved). */
async function predecessor(knex: Knex, hash: string, from: bigint, depth: number): Promise<bigint | undefined> {
  if (hash === GENESIS_HASH) return 0n;
  const run = (await knex.raw('select to_position::text as position from activity_retention where last_removed_hash = ? limit 1', [hash])) as { rows: Array<{ position: string }> };
  if (run.rows[0]) return BigInt(run.rows[0].position);
  const found = (await knex.raw(`select t.chain_position::text as position, t.prev_hash, t.row_hash, activity_tracking_row_hash(${ROW_HASH_ARGUMENTS}) as recomputed
    from user_activity t where t.row_hash = ? and t.chain_position <> ?::bigint limit 1`, [hash, from.toString()])) as { rows: Array<{ position: string; prev_hash: string | null; row_hash: string | null; recomputed: string | null }> };
  const r = found.rows[0];
  if (r === undefined) return undefined;
  return originalPosition(knex, { position: BigInt(r.position), prevHash: r.prev_hash, rowHash: r.row_hash, recomputed: r.recomputed }, depth - 1);
}

/** SQLSTATE classes that say nothing about the rows: connection, schema, resources, operator, system. */
const NOT_ABOUT_THE_ROWS = /^(08|42|53|57|58|XX)/;

/**
 * A page that fails to read is reported as a broken chain only when the database is otherwise fine
 * and the error is about data; an unreachable database or a missing schema is thrown to the caller.
 */
async function rethrowUnlessAboutTheRows(knex: Knex, error: unknown): Promise<void> {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || NOT_ABOUT_THE_ROWS.test(code)) throw error;
  try {
    await knex.raw('select 1');
  } catch {
    throw error;
  }
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // knex puts the statement in front ("select ... - <message>"); the statement says nothing new.
  const separator = message.startsWith('select ') ? message.indexOf(' - ') : -1;
  return (separator >= 0 ? message.slice(separator + 3) : message).slice(0, 300);
}
