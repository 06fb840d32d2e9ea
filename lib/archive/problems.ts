/**
 * What a check of an archive found wrong, named as verify names the chain's problems
 * (IntegrityProblem) where they are the same thing: content_changed, row_missing, rows_reordered,
 * chain_forked.
 */
export type ArchiveProblem =
  /** The manifest or the data file is not in the sink. */
  | 'archive_missing'
  /** The manifest is not one this package writes: not JSON, another format, a field of the wrong kind. */
  | 'manifest_invalid'
  /** The manifest was written for another data file than the one beside it (renamed or swapped). */
  | 'name_mismatch'
  /** The data file does not unpack (truncated or damaged gzip), or a line is not an archived row. */
  | 'data_corrupt'
  /** The data file's SHA-256 is not the manifest's dataSha256. */
  | 'digest_mismatch'
  /** The rows counted differ from the manifest's rowCount, or rowCount from its position range. */
  | 'count_mismatch'
  /** A row no longer matches its row_hash. */
  | 'content_changed'
  /** A position of the range has no row. */
  | 'row_missing'
  /** A row is out of position order (moved, or duplicated). */
  | 'rows_reordered'
  /** A row is hashed correctly but does not link to the row before it. */
  | 'chain_forked'
  /** The first or last row's hashes are not the manifest's firstPrevHash, firstRowHash or lastRowHash. */
  | 'hash_mismatch'
  /** A key was given but the manifest carries no signature. */
  | 'signature_missing'
  /** The signature was made with the key given and does not verify: the manifest was changed, or forged. */
  | 'signature_invalid'
  /** The signature was made with another key than the one given (its keyId names that key). */
  | 'signature_key_mismatch'
  /** No retention.removed record in the chain covers the archived positions, and they are no longer in it. */
  | 'retention_record_missing'
  /** A retention.removed record covers the positions but its range, lastRemovedHash, cutoff or archive differ from the manifest's. */
  | 'retention_record_mismatch'
  /** The retention record matching the archive no longer matches its own row hash. */
  | 'retention_record_changed'
  /** The archived positions are still in the chain, with other hashes than the archive's. */
  | 'chain_rows_differ';

export const ARCHIVE_PROBLEMS: readonly ArchiveProblem[] = [
  'archive_missing', 'manifest_invalid', 'name_mismatch', 'data_corrupt', 'digest_mismatch', 'count_mismatch', 'content_changed', 'row_missing',
  'rows_reordered', 'chain_forked', 'hash_mismatch', 'signature_missing', 'signature_invalid', 'signature_key_mismatch', 'retention_record_missing',
  'retention_record_mismatch', 'retention_record_changed', 'chain_rows_differ',
];

/** One thing found wrong: its code, the chain position it concerns (when one does) and what to know or do. */
export interface ArchiveFinding {
  problem: ArchiveProblem;
  position: number | null;
  message: string;
}
