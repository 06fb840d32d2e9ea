import type { Database } from '../database';
import { GENESIS_HASH } from '../../integrity/encoding';

/** Where the chain ends: the position and the hash the next appended row follows. */
export interface ChainHead {
  /** 0 when the chain never had a row. */
  position: bigint;
  hash: string;
}

/*
 * The rule of the append function the migrations installed (the `head` of its write statement,
 * migrations/sql/): the row with the largest chain_position; with no row left, the end of the last
 * retention run; with neither, position 0 and the genesis hash. Published migrations are frozen, so
 * the rule is theirs: a head read any other way could name a row the next append does not follow.
 */
const HEAD_SQL = `select position::text as position, hash from (
    (select chain_position as position, row_hash as hash, 1 as preference from user_activity order by chain_position desc limit 1)
    union all (select to_position, last_removed_hash, 2 from activity_retention order by to_position desc limit 1)
  ) candidates order by preference limit 1`;

/**
 * The chain's head, read the way the append function reads it. Under the chain lock (in its
 * transaction) it is the head the next append follows; without it, the head at the time of reading.
 */
export async function chainHead(db: Database): Promise<ChainHead> {
  const found = (await db.raw(HEAD_SQL)) as { rows: Array<{ position: string; hash: string | null }> };
  const row = found.rows[0];
  return row ? { position: BigInt(row.position), hash: row.hash ?? GENESIS_HASH } : { position: 0n, hash: GENESIS_HASH };
}
