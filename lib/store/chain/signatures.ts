import type { Database } from '../database';

/** One row of activity_chain_signatures: a writer's signature of the batch from `firstPosition` to `position`. */
export interface BatchSignatureRow {
  firstPosition: string;
  position: string;
  rowHash: string;
  algorithm: string;
  keyId: string;
  signature: string;
}

/** A signature with the row_hash stored at its last position now; null when no row is there (removed by retention, or never). */
export interface StoredSignature extends BatchSignatureRow {
  storedHash: string | null;
}

const INSERT_SQL = `insert into activity_chain_signatures (first_position, position, row_hash, algorithm, key_id, signature)
  values (?::bigint, ?::bigint, ?, ?, ?, ?) on conflict do nothing`;

const PAGE_SQL = `select s.first_position::text as first_position, s.position::text as position, s.row_hash, s.algorithm, s.key_id, s.signature, u.row_hash as stored_hash
    from activity_chain_signatures s left join user_activity u on u.chain_position = s.position
   where (s.position, s.signature) > (?::bigint, ?::text) and s.position <= ?::bigint order by s.position, s.signature limit ?`;

/** Stores a signature; the same one twice is stored once. */
export async function insertSignature(db: Database, row: BatchSignatureRow): Promise<void> {
  await db.raw(INSERT_SQL, [row.firstPosition, row.position, row.rowHash, row.algorithm, row.keyId, row.signature]);
}

/** Signatures whose last position is at most `upTo`, in (position, signature) order after `after`, at most `limit`. */
export async function signaturesAfter(db: Database, after: { position: string; signature: string }, upTo: bigint, limit: number): Promise<StoredSignature[]> {
  const found = (await db.raw(PAGE_SQL, [after.position, after.signature, upTo.toString(), limit])) as {
    rows: Array<{ first_position: string; position: string; row_hash: string; algorithm: string; key_id: string; signature: string; stored_hash: string | null }>;
  };
  return found.rows.map((r) => ({
    firstPosition: r.first_position, position: r.position, rowHash: r.row_hash, algorithm: r.algorithm, keyId: r.key_id, signature: r.signature, storedHash: r.stored_hash,
  }));
}
