import type { Database } from '../database';
import { HASH_INPUT_COLUMNS, hashInputsOf, type HashInputs } from '../../integrity/recordEncoding';

/** Reads of user_activity's rows as the chain holds them: positions and hash inputs, in chain order. */

const PAGE_SQL = `select ${HASH_INPUT_COLUMNS} from user_activity t where t.chain_position > ?::bigint order by t.chain_position limit ?`;
const BY_HASH_SQL = `select ${HASH_INPUT_COLUMNS} from user_activity t where t.row_hash = ? and t.chain_position <> ?::bigint limit 1`;

/** The first position in user_activity (kept rows start there), or null when it is empty. */
export async function firstPosition(db: Database): Promise<bigint | null> {
  const found = (await db.raw('select chain_position::text as position from user_activity order by chain_position limit 1')) as { rows: Array<{ position: string }> };
  const row = found.rows[0];
  return row ? BigInt(row.position) : null;
}

/** The hash inputs of at most `limit` rows after position `after`, in chain order (a keyset page). */
export async function chainRowsAfter(db: Database, after: bigint, limit: number): Promise<HashInputs[]> {
  const found = (await db.raw(PAGE_SQL, [after.toString(), limit])) as { rows: Array<Record<string, unknown>> };
  return found.rows.map(hashInputsOf);
}

/** A row whose stored row_hash is `hash`, other than the one at `except`. Scans: row_hash has no index. */
export async function rowWithHash(db: Database, hash: string, except: bigint): Promise<HashInputs | undefined> {
  const found = (await db.raw(BY_HASH_SQL, [hash, except.toString()])) as { rows: Array<Record<string, unknown>> };
  const row = found.rows[0];
  return row === undefined ? undefined : hashInputsOf(row);
}

/** Whether the database answers at all: a read that failed on a database that does was about its rows. */
export async function databaseAnswers(db: Database): Promise<boolean> {
  try {
    await db.raw('select 1');
    return true;
  } catch {
    return false;
  }
}

/** A failed read's own message: the query builder puts the statement in front ("select ... - <message>"), which says nothing new. */
export function readErrorMessage(message: string): string {
  const separator = message.startsWith('select ') ? message.indexOf(' - ') : -1;
  return separator >= 0 ? message.slice(separator + 3) : message;
}
