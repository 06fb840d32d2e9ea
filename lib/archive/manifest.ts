import type { BatchSigningKey } from '../integrity/batchSignatures';
import { ARCHIVE_FORMAT, isArchiveName } from './sink';

/**
 * What an archive says about itself, stored beside its rows as `<name>.manifest.json`. Positions
 * are JSON numbers, as in the chain's retention records (exact below 2^53, far beyond any trail).
 */
export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  /** The chain positions archived, first and last (inclusive). */
  fromPosition: number;
  toPosition: number;
  /** Rows in the data file: toPosition - fromPosition + 1 for a whole archive. */
  rowCount: number;
  /** prev_hash of the first row: what the archived stretch of the chain links to. */
  firstPrevHash: string;
  firstRowHash: string;
  /** row_hash of the last row: the retention record's lastRemovedHash. */
  lastRowHash: string;
  /** The retention cutoff the rows were archived for (ISO 8601). */
  cutoff: string;
  /** When the archive was written (ISO 8601). */
  createdAt: string;
  /** The data file's name, beside the manifest: `<name>.ndjson.gz`. */
  dataFile: string;
  /** Hex SHA-256 of the data file's bytes (the gzip stream as stored). */
  dataSha256: string;
  /** The writer's signature over archiveSignatureText, or null when the writer had no signing key. */
  signature: ArchiveSignature | null;
}

export interface ArchiveSignature {
  algorithm: BatchSigningKey['algorithm'];
  keyId: string;
  value: string;
}

type SignedFields = Omit<ArchiveManifest, 'signature'>;

/**
 * The exact text an archive's signature signs: every manifest field but the signature, one per
 * line in a fixed order (never the JSON's key order), after a prefix no batch signature or
 * checkpoint text has, so no signature can pass for another kind.
 */
export function archiveSignatureText(manifest: SignedFields): Buffer {
  return Buffer.from([
    'activity-tracking-archive-signature:v1',
    `format=${manifest.format}`,
    `fromPosition=${manifest.fromPosition}`,
    `toPosition=${manifest.toPosition}`,
    `rowCount=${manifest.rowCount}`,
    `firstPrevHash=${manifest.firstPrevHash}`,
    `firstRowHash=${manifest.firstRowHash}`,
    `lastRowHash=${manifest.lastRowHash}`,
    `cutoff=${manifest.cutoff}`,
    `createdAt=${manifest.createdAt}`,
    `dataFile=${manifest.dataFile}`,
    `dataSha256=${manifest.dataSha256}`,
  ].join('\n'), 'utf8');
}

/** The manifest's JSON text, as stored. */
export function manifestText(manifest: ArchiveManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

const HASH = /^[0-9a-f]{64}$/;

/** The manifest in `text`, or what is wrong with it. */
export function parseManifest(text: string): { manifest: ArchiveManifest } | { reason: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { reason: `it is not JSON (${(error as Error).message})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { reason: 'it is not a JSON object' };
  const m = parsed as Record<string, unknown>;
  if (m['format'] !== ARCHIVE_FORMAT) return { reason: `its format is ${JSON.stringify(m['format'])?.slice(0, 60)}, not "${ARCHIVE_FORMAT}"` };
  for (const field of ['fromPosition', 'toPosition', 'rowCount'] as const) {
    if (!Number.isSafeInteger(m[field]) || (m[field] as number) < 0) return { reason: `${field} is not a whole number` };
  }
  for (const field of ['firstPrevHash', 'firstRowHash', 'lastRowHash', 'dataSha256'] as const) {
    if (typeof m[field] !== 'string' || !HASH.test(m[field])) return { reason: `${field} is not a hex SHA-256` };
  }
  for (const field of ['cutoff', 'createdAt'] as const) {
    if (!isIsoTime(m[field])) return { reason: `${field} is not an ISO 8601 time` };
  }
  if (!isArchiveName(m['dataFile'])) return { reason: 'dataFile is not a file name' };
  const signature = m['signature'];
  if (signature !== null) {
    const s = signature as Record<string, unknown> | undefined;
    if (typeof s !== 'object' || s === null || (s['algorithm'] !== 'Ed25519' && s['algorithm'] !== 'HMAC-SHA256') || typeof s['keyId'] !== 'string' || typeof s['value'] !== 'string') {
      return { reason: 'signature is neither null nor { algorithm: "Ed25519" | "HMAC-SHA256", keyId, value }' };
    }
  }
  return { manifest: m as unknown as ArchiveManifest };
}

/** An ISO 8601 time as toISOString writes it, so the signed text has one form. */
function isIsoTime(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && new Date(ms).toISOString() === value;
}
