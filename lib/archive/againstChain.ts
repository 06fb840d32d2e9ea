import { HASH_INPUT_COLUMNS, hashInputsOf, recordFields, rowHashOf, type HashInputs } from '../integrity/recordEncoding';
import { retentionRecordOf, type RetentionRecord } from '../integrity/retentionTrail';
import type { Database } from '../store/database';
import type { ArchiveManifest } from './manifest';
import type { ArchiveFinding } from './problems';

/** How an archive stands with the chain it was taken from. */
export type ArchiveChainStatus =
  /** A chained retention.removed record says exactly what the manifest says: the rows left the chain as archived. */
  | 'recorded'
  /** The rows are still in the chain (retention has not removed them yet), with the archive's hashes. */
  | 'still_in_chain'
  /** Something differs or is missing: see `problems`. */
  | 'mismatched';

export interface ArchiveChainCheck {
  ok: boolean;
  status: ArchiveChainStatus;
  /** Chain position of the matching retention record; null when there is none. */
  recordPosition: number | null;
  problems: ArchiveFinding[];
}

/** The retention records read: a range is covered by one record, or by a few whose batches cut across it. */
const CANDIDATES = 20;

const RECORDS_SQL = `select ${HASH_INPUT_COLUMNS} from user_activity t
 where t.activity_type = 'system_action' and t.action = 'retention.removed' and t.entity_type = 'activity_trail'
   and t.chain_position > ?::bigint
   and case when jsonb_typeof(t.details->'fromPosition') = 'number' then (t.details->>'fromPosition')::numeric end <= ?
   and case when jsonb_typeof(t.details->'toPosition') = 'number' then (t.details->>'toPosition')::numeric end >= ?
 order by t.chain_position
 limit ${CANDIDATES}`;

const ENDS_SQL = 'select chain_position::text as position, prev_hash, row_hash from user_activity where chain_position in (?::bigint, ?::bigint)';

/**
 * Checks an archive (its manifest, as readBackArchive returned it) against the chain: the chained
 * retention.removed record written when its rows were removed must cover exactly its positions,
 * with the manifest's lastRowHash as lastRemovedHash and the same cutoff (and, when the record
 * names an archive, this one's name and dataSha256), and must still match its own row hash. An
 * archive whose rows are still in the chain matches when their hashes are the manifest's.
 */
export async function verifyArchiveAgainstChain(db: Database, manifest: ArchiveManifest): Promise<ArchiveChainCheck> {
  const { fromPosition: from, toPosition: to } = manifest;
  const found = ((await db.raw(RECORDS_SQL, [String(to), to, from])) as { rows: Array<Record<string, unknown>> }).rows.map(hashInputsOf);
  const records = found.flatMap((inputs) => {
    const record = retentionRecordOf(inputs, BigInt(inputs.position));
    return record ? [{ inputs, record }] : [];
  });
  const exact = records.find(({ record }) => record.from === BigInt(from) && record.to === BigInt(to));
  if (exact) return compareRecord(manifest, exact.inputs, exact.record);
  if (records.length > 0) {
    const ranges = records.map(({ record }) => `${record.from} to ${record.to} (record at position ${record.position})`).join(', ');
    return mismatched(null, [{
      problem: 'retention_record_mismatch', position: Number((records[0] as { record: RetentionRecord }).record.position),
      message: `The archive covers positions ${from} to ${to}, but the chain's retention records cover ${ranges}: the rows were removed in other ranges than this archive's, so it does not account for them as a whole`,
    }]);
  }
  return compareKeptRows(db, manifest);
}

function compareRecord(manifest: ArchiveManifest, inputs: HashInputs, record: RetentionRecord): ArchiveChainCheck {
  const position = Number(record.position);
  const where = `The retention record at position ${position}`;
  const problems: ArchiveFinding[] = [];
  if (inputs.rowHash === null || rowHashOf(inputs) !== inputs.rowHash) {
    problems.push({ problem: 'retention_record_changed', position, message: `${where} no longer matches its own hash: it was changed after it joined the chain (verify reports where the chain breaks)` });
  }
  const differs = (field: string, chain: string, archive: string): void => {
    problems.push({ problem: 'retention_record_mismatch', position, message: `${where} says ${field} ${chain}; the archive's manifest says ${archive}` });
  };
  if (record.lastRemovedHash !== manifest.lastRowHash) differs('lastRemovedHash', record.lastRemovedHash, manifest.lastRowHash);
  if (record.cutoffMs !== Date.parse(manifest.cutoff)) differs('cutoff', record.cutoff, manifest.cutoff);
  if (record.removed !== manifest.rowCount) differs('removed', String(record.removed), `rowCount ${manifest.rowCount}`);
  const archive = archiveNamedBy(recordFields(inputs).details);
  if (archive !== undefined) {
    const name = manifest.dataFile.replace(/\.ndjson\.gz$/, '');
    if (archive.name !== name) differs('archive name', JSON.stringify(archive.name), JSON.stringify(name));
    if (archive.dataSha256 !== manifest.dataSha256) differs('archive dataSha256', String(archive.dataSha256), manifest.dataSha256);
  }
  return problems.length === 0 ? { ok: true, status: 'recorded', recordPosition: position, problems } : mismatched(position, problems);
}

/** The archive a retention record names in details.archive, when it names one. */
function archiveNamedBy(details: unknown): { name: unknown; dataSha256: unknown } | undefined {
  if (typeof details !== 'string') return undefined;
  const parsed = JSON.parse(details) as { archive?: unknown };
  const archive = parsed.archive;
  if (archive === undefined) return undefined;
  if (typeof archive !== 'object' || archive === null) return { name: archive, dataSha256: undefined };
  const { name, dataSha256 } = archive as Record<string, unknown>;
  return { name, dataSha256 };
}

/** No record covers the range: its rows must still be in the chain, as archived. */
async function compareKeptRows(db: Database, manifest: ArchiveManifest): Promise<ArchiveChainCheck> {
  const { fromPosition: from, toPosition: to } = manifest;
  const rows = ((await db.raw(ENDS_SQL, [String(from), String(to)])) as { rows: Array<{ position: string; prev_hash: string | null; row_hash: string | null }> }).rows;
  const first = rows.find((row) => row.position === String(from));
  const last = rows.find((row) => row.position === String(to));
  if (!first || !last) {
    return mismatched(null, [{
      problem: 'retention_record_missing', position: from,
      message: `No retention.removed record in the chain covers positions ${from} to ${to}, and ${first || last ? 'some of them are' : 'they are'} no longer in it: the rows were removed outside the retention job, or the archive was taken from another database`,
    }]);
  }
  const problems: ArchiveFinding[] = [];
  if (first.prev_hash !== manifest.firstPrevHash || first.row_hash !== manifest.firstRowHash) {
    problems.push({ problem: 'chain_rows_differ', position: from, message: `The row at position ${from} is still in the chain with prev_hash ${first.prev_hash ?? 'none'} and row_hash ${first.row_hash ?? 'none'}; the archive has ${manifest.firstPrevHash} and ${manifest.firstRowHash}` });
  }
  if (last.row_hash !== manifest.lastRowHash) {
    problems.push({ problem: 'chain_rows_differ', position: to, message: `The row at position ${to} is still in the chain with row_hash ${last.row_hash ?? 'none'}; the archive has ${manifest.lastRowHash}` });
  }
  return problems.length === 0 ? { ok: true, status: 'still_in_chain', recordPosition: null, problems } : mismatched(null, problems);
}

function mismatched(recordPosition: number | null, problems: ArchiveFinding[]): ArchiveChainCheck {
  return { ok: false, status: 'mismatched', recordPosition, problems };
}
