import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import type { BatchSigningKey } from '../integrity/batchSignatures';
import { rowHashOf, type HashInputs } from '../integrity/recordEncoding';
import { messageOf } from '../util/messageOf';
import { archiveSignatureText, parseManifest, type ArchiveManifest } from './manifest';
import type { ArchiveFinding, ArchiveProblem } from './problems';
import { archivedHashInputs } from './rowFormat';
import { archiveFileNames, assertArchiveName, type ArchiveSink } from './sink';

export interface ReadBackOptions {
  /** The writer's key (for Ed25519 the public key is enough): the manifest must carry a signature that verifies with it. Default: the signature is not checked. */
  signingKey?: BatchSigningKey | null;
}

/** How the manifest's signature compared with the key given. */
export type ArchiveSignatureStatus = 'verified' | 'failed' | 'unsigned' | 'not_checked';

export interface ArchiveReadBack {
  /** True when the archive is whole and intact, and signed with the key when one was given. */
  ok: boolean;
  /** The manifest as stored; null when it is missing or not a manifest. */
  manifest: ArchiveManifest | null;
  /** Lines read from the data file. */
  rowsRead: number;
  /** `not_checked`: no key was given; `unsigned`: no key was given and the manifest has no signature. */
  signature: ArchiveSignatureStatus;
  /** What is wrong, in the order found; empty when ok. */
  problems: ArchiveFinding[];
}

/** Findings kept per archive: one changed row is one finding, a mangled file would otherwise be millions. */
const MAX_FINDINGS = 100;
/** Longer than any archived row: a file without line breaks is damaged, and is not held in memory. */
const MAX_LINE_CHARS = 64 * 1024 * 1024;
const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * Reads archive `name` back from the sink and checks it against itself: the manifest is one this
 * package writes, the data file's SHA-256 is the manifest's, it unpacks, it holds one row per
 * position of the range in order, each row hashes to its row_hash (recomputed from the archived
 * values, lib/archive/rowFormat.ts) and links to the row before, the first and last hashes and the
 * count are the manifest's, and (with a key) the signature verifies. Streams the data: memory
 * stays flat at any size. Reports what it finds in `problems` and never throws for it (only for
 * an invalid name).
 */
export async function readBackArchive(sink: ArchiveSink, name: string, options: ReadBackOptions = {}): Promise<ArchiveReadBack> {
  assertArchiveName(name);
  const files = archiveFileNames(name);
  const problems: ArchiveFinding[] = [];
  const found = (problem: ArchiveProblem, position: number | bigint | null, message: string): void => {
    if (problems.length < MAX_FINDINGS) problems.push({ problem, position: position === null ? null : Number(position), message });
  };
  const result = (manifest: ArchiveManifest | null, rowsRead: number, signature: ArchiveSignatureStatus): ArchiveReadBack => ({
    ok: problems.length === 0, manifest, rowsRead, signature, problems,
  });
  const key = options.signingKey ?? null;

  let manifestText: string;
  try {
    manifestText = await readSmall(await sink.get(files.manifest), MAX_MANIFEST_BYTES);
  } catch (error) {
    found('archive_missing', null, `The manifest ${files.manifest} cannot be read from the archive sink: ${messageOf(error)}. Fix: keep the manifest beside its data file; without it the archive cannot be checked`);
    return result(null, 0, key ? 'failed' : 'not_checked');
  }
  const parsed = parseManifest(manifestText);
  if ('reason' in parsed) {
    found('manifest_invalid', null, `${files.manifest} is not an archive manifest: ${parsed.reason}`);
    return result(null, 0, key ? 'failed' : 'not_checked');
  }
  const { manifest } = parsed;
  if (manifest.dataFile !== files.data) {
    found('name_mismatch', null, `${files.manifest} was written for the data file ${manifest.dataFile}, not ${files.data}: the files were renamed or paired with another archive's. Fix: give both files their names back`);
  }
  const signature = checkSignature(manifest, key, found);
  const span = BigInt(manifest.toPosition) - BigInt(manifest.fromPosition) + 1n;
  if (span < 1n || BigInt(manifest.rowCount) !== span) {
    found('count_mismatch', null, `The manifest says ${manifest.rowCount} row(s) for positions ${manifest.fromPosition} to ${manifest.toPosition}, which hold ${span}`);
  }

  let source: Readable;
  try {
    source = await sink.get(files.data);
  } catch (error) {
    found('archive_missing', null, `The data file ${files.data} cannot be read from the archive sink: ${messageOf(error)}`);
    return result(manifest, 0, signature);
  }
  const rows = new RowCheck(manifest, found);
  const digest = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      digest.update(chunk);
      done(null, chunk);
    },
  });
  const unpacked = pipeline(source, tap, createGunzip(), () => undefined);
  try {
    for await (const line of linesOf(unpacked)) rows.see(line);
  } catch (error) {
    found('data_corrupt', null, `The data file ${files.data} does not unpack after ${rows.rowsRead} row(s): ${messageOf(error)}: it is truncated or damaged. Fix: restore it from a copy; the rows after that point cannot be checked`);
    return result(manifest, rows.rowsRead, signature);
  }
  rows.finish();
  const sha256 = digest.digest('hex');
  if (sha256 !== manifest.dataSha256) {
    found('digest_mismatch', null, `The data file's SHA-256 is ${sha256}; the manifest says ${manifest.dataSha256}: the file was changed or replaced after it was written`);
  }
  return result(manifest, rows.rowsRead, signature);
}

function checkSignature(manifest: ArchiveManifest, key: BatchSigningKey | null, found: (problem: ArchiveProblem, position: null, message: string) => void): ArchiveSignatureStatus {
  const { signature } = manifest;
  if (key === null) return signature === null ? 'unsigned' : 'not_checked';
  if (signature === null) {
    found('signature_missing', null, `The manifest is not signed, but key ${key.keyId} was given: it was written by a process without the writer's key, or its signature was removed`);
    return 'failed';
  }
  if (signature.algorithm !== key.algorithm || signature.keyId !== key.keyId) {
    found('signature_key_mismatch', null, `The manifest was signed with key ${signature.keyId} (${signature.algorithm}), not with the key given (${key.keyId}). Fix: check with the key that wrote it; if it is that key, the manifest was changed`);
    return 'failed';
  }
  if (!key.verify(archiveSignatureText(manifest), signature.value)) {
    found('signature_invalid', null, `The manifest's signature does not verify with key ${key.keyId}: the manifest was changed after it was signed, or the signature was forged`);
    return 'failed';
  }
  return 'verified';
}

/** Follows the rows of one archive, line by line, in O(1) memory. */
class RowCheck {
  rowsRead = 0;
  private expected: bigint;
  private readonly to: bigint;
  private prevHash: string | null = null;
  private lastHash: string | null = null;
  /** Set once the rows are out of sequence: from there on only the missing position is looked for. */
  private broken = false;
  /** The position that was skipped when the sequence broke: found later, the rows were reordered; never, it is missing. */
  private skipped: bigint | null = null;

  constructor(private readonly manifest: ArchiveManifest, private readonly found: (problem: ArchiveProblem, position: bigint | null, message: string) => void) {
    this.expected = BigInt(manifest.fromPosition);
    this.to = BigInt(manifest.toPosition);
  }

  see(line: string): void {
    this.rowsRead += 1;
    const row = parseRow(line);
    if (row === undefined) {
      if (!this.broken) this.found('data_corrupt', this.expected, `Line ${this.rowsRead} of the data file is not an archived row (a JSON object with a chain_position): the file was damaged`);
      this.broken = true;
      return;
    }
    const position = BigInt(row['chain_position'] as string);
    if (this.broken) {
      if (this.skipped !== null && position === this.skipped) {
        this.found('rows_reordered', position, `The row of position ${position} is on line ${this.rowsRead}, after rows of later positions: lines were moved`);
        this.skipped = null;
      }
      return;
    }
    if (position !== this.expected || position > this.to) {
      this.broken = true;
      if (position < this.expected) this.found('rows_reordered', position, `Line ${this.rowsRead} holds position ${position}, after position ${this.expected - 1n}: lines were moved or repeated`);
      else if (position > this.to) this.found('count_mismatch', position, `Line ${this.rowsRead} holds position ${position}, beyond the manifest's last position ${this.to}`);
      else this.skipped = this.expected;
      return;
    }
    const inputs = archivedHashInputs(row);
    const first = position === BigInt(this.manifest.fromPosition);
    if (inputs.rowHash === null || hashOf(inputs) !== inputs.rowHash) {
      this.found('content_changed', position, `The row at position ${position} no longer matches its hash: a value or its hash was changed in the archive`);
    } else if (!first && inputs.prevHash !== this.prevHash) {
      this.found('chain_forked', position, `The row at position ${position} is hashed correctly but links to ${inputs.prevHash ?? 'nothing'}, not to the row before it (${this.prevHash ?? 'none'})`);
    }
    if (first) {
      if (inputs.prevHash !== this.manifest.firstPrevHash) this.found('hash_mismatch', position, `The first row links to ${inputs.prevHash ?? 'nothing'}; the manifest's firstPrevHash is ${this.manifest.firstPrevHash}`);
      if (inputs.rowHash !== this.manifest.firstRowHash) this.found('hash_mismatch', position, `The first row's hash is ${inputs.rowHash ?? 'none'}; the manifest's firstRowHash is ${this.manifest.firstRowHash}`);
    }
    this.prevHash = inputs.rowHash;
    this.lastHash = inputs.rowHash;
    this.expected += 1n;
  }

  finish(): void {
    if (this.skipped !== null) this.found('row_missing', this.skipped, `Position ${this.skipped} is missing from the data file`);
    if (!this.broken && this.expected <= this.to) {
      this.found('row_missing', this.expected, `The data file ends at position ${this.expected - 1n}; the manifest's range runs to ${this.to}: positions ${this.expected} on are missing`);
    }
    if (this.rowsRead !== this.manifest.rowCount) this.found('count_mismatch', null, `The data file holds ${this.rowsRead} row(s); the manifest says ${this.manifest.rowCount}`);
    if (!this.broken && this.expected > this.to && this.lastHash !== this.manifest.lastRowHash) {
      this.found('hash_mismatch', this.to, `The last row's hash is ${this.lastHash ?? 'none'}; the manifest's lastRowHash is ${this.manifest.lastRowHash}`);
    }
  }
}

/** The row hash, or null when a value is not of its column's kind (a jsonb text that is not JSON, say): a changed row either way. */
function hashOf(inputs: HashInputs): string | null {
  try {
    return rowHashOf(inputs);
  } catch {
    return null;
  }
}

function parseRow(line: string): Record<string, unknown> | undefined {
  let row: unknown;
  try {
    row = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return undefined;
  const position = (row as Record<string, unknown>)['chain_position'];
  return typeof position === 'string' && /^-?\d{1,19}$/.test(position) ? row as Record<string, unknown> : undefined;
}

/** The lines of a UTF-8 stream, without their newlines; a last line without one too. */
async function* linesOf(stream: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of stream) {
    pending += decoder.write(chunk);
    let start = 0;
    for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n', start)) {
      yield pending.slice(start, end);
      start = end + 1;
    }
    pending = pending.slice(start);
    if (pending.length > MAX_LINE_CHARS) throw new Error(`a line is longer than ${MAX_LINE_CHARS} characters`);
  }
  pending += decoder.end();
  if (pending !== '') yield pending;
}

async function readSmall(stream: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buffer.length;
    if (size > limit) {
      stream.destroy();
      throw new Error(`it is larger than ${limit} bytes`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
