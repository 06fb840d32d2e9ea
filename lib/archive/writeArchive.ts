import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { ActivityTrackingError } from '../errors';
import type { BatchSigningKey } from '../integrity/batchSignatures';
import type { Database } from '../store/database';
import { archiveSignatureText, manifestText, type ArchiveManifest } from './manifest';
import { archivedColumns, archiveSelectList, encodeRow } from './rowFormat';
import { ARCHIVE_FORMAT, archiveFileNames, assertArchiveName, type ArchiveSink } from './sink';

export interface WriteArchiveOptions {
  /** The first and last chain position to archive (inclusive): the prefix retention will remove. */
  fromPosition: number;
  toPosition: number;
  /** The retention cutoff the rows expired by; recorded in the manifest, as in the chain's retention record. */
  cutoff: Date;
  sink: ArchiveSink;
  /** The archive's name: `<name>.ndjson.gz` and `<name>.manifest.json` are written to the sink. */
  name: string;
  /** The writer's key: signs the manifest when it can sign (a private key or an HMAC secret). Default: unsigned. */
  signingKey?: BatchSigningKey | null;
  /** Rows read per query, 1 to 50000 (default 5000). */
  batchSize?: number;
}

export const ARCHIVE_BATCH_SIZE = 5000;

/**
 * Writes the rows of user_activity from `fromPosition` to `toPosition` to `sink`: one archived row
 * per line (lib/archive/rowFormat.ts), gzip'd, as `<name>.ndjson.gz`, then `<name>.manifest.json`,
 * and returns the manifest. The rows are read in keyset pages and streamed through gzip into the
 * sink, so memory stays flat at any size. It records what it read and judges nothing: whether the
 * archive is whole and intact is readBackArchive's to say, from what the sink stored.
 */
export async function writeArchive(db: Database, options: WriteArchiveOptions): Promise<ArchiveManifest> {
  const { fromPosition, toPosition, cutoff, sink, name, signingKey } = options;
  const batchSize = options.batchSize ?? ARCHIVE_BATCH_SIZE;
  checkOptions(options, batchSize);
  const files = archiveFileNames(name);

  const columns = await archivedColumns(db);
  const pageSql = `select ${archiveSelectList(columns)} from user_activity t where t.chain_position > ?::bigint and t.chain_position <= ?::bigint order by t.chain_position limit ?`;
  const readPage = async (after: string): Promise<Array<Record<string, unknown>>> => ((await db.raw(pageSql, [after, String(toPosition), batchSize])) as { rows: Array<Record<string, unknown>> }).rows;

  const firstPage = await readPage(String(fromPosition - 1));
  if (firstPage.length === 0) {
    throw new ActivityTrackingError('ERR_AT_ARCHIVE', `No rows to archive: user_activity holds no chain position from ${fromPosition} to ${toPosition}. Fix: archive positions that are still in the chain (the expired prefix, before retention removes it)`);
  }
  const seen = { rowCount: 0, firstPrevHash: '', firstRowHash: '', lastRowHash: '' };
  async function* lines(): AsyncGenerator<string> {
    let page = firstPage;
    for (;;) {
      let text = '';
      for (const row of page) {
        if (seen.rowCount === 0) {
          seen.firstPrevHash = String(row['prev_hash'] ?? '');
          seen.firstRowHash = String(row['row_hash'] ?? '');
        }
        seen.rowCount += 1;
        seen.lastRowHash = String(row['row_hash'] ?? '');
        text += `${encodeRow(columns, row)}\n`;
      }
      yield text;
      if (page.length < batchSize) return;
      page = await readPage(String((page[page.length - 1] as Record<string, unknown>)['chain_position']));
      if (page.length === 0) return;
    }
  }

  const digest = createHash('sha256');
  const body = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      digest.update(chunk);
      done(null, chunk);
    },
  });
  // A sink that fails, or returns, without reading its body to the end must not leave the reading side waiting.
  const storing = Promise.resolve().then(() => sink.put(files.data, body)).then(() => {
    if (!body.readableEnded) throw new ActivityTrackingError('ERR_AT_ARCHIVE', `The archive sink's put("${files.data}") resolved before it read the whole body. Fix: resolve put only once the body has ended and is stored`);
  });
  storing.catch((error: unknown) => body.destroy(error as Error));
  const [produced, stored] = await Promise.allSettled([pipeline(Readable.from(lines()), createGzip(), body), storing]);
  // The reading side's error says what went wrong first; a sink's error may only say its body was cut off.
  if (produced.status === 'rejected') throw produced.reason;
  if (stored.status === 'rejected') throw stored.reason;

  const manifest: ArchiveManifest = {
    format: ARCHIVE_FORMAT, fromPosition, toPosition, rowCount: seen.rowCount,
    firstPrevHash: seen.firstPrevHash, firstRowHash: seen.firstRowHash, lastRowHash: seen.lastRowHash,
    cutoff: cutoff.toISOString(), createdAt: new Date().toISOString(), dataFile: files.data, dataSha256: digest.digest('hex'), signature: null,
  };
  if (signingKey?.sign) manifest.signature = { algorithm: signingKey.algorithm, keyId: signingKey.keyId, value: signingKey.sign(archiveSignatureText(manifest)) };
  // Bytes, as the data file's: a sink may treat every chunk as a Buffer.
  await sink.put(files.manifest, Readable.from([Buffer.from(manifestText(manifest), 'utf8')]));
  return manifest;
}

function checkOptions(options: WriteArchiveOptions, batchSize: number): void {
  const invalid = (message: string): never => { throw new ActivityTrackingError('ERR_AT_INVALID_OPTION', message); };
  const { fromPosition, toPosition, cutoff, sink } = options;
  if (!Number.isSafeInteger(fromPosition) || fromPosition < 1 || !Number.isSafeInteger(toPosition) || toPosition < fromPosition) {
    invalid(`Invalid archive range: fromPosition ${String(fromPosition)}, toPosition ${String(toPosition)}. Fix: pass whole chain positions, 1 or more, with fromPosition <= toPosition`);
  }
  if (!(cutoff instanceof Date) || Number.isNaN(cutoff.getTime())) invalid(`Invalid archive cutoff: ${String(cutoff)}. Fix: pass the retention cutoff as a Date`);
  if (typeof sink?.put !== 'function' || typeof sink.get !== 'function') invalid('Invalid archive sink. Fix: pass an object with put(name, body) and get(name), such as folderArchiveSink(folder)');
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 50_000) invalid(`Invalid archive batchSize: ${String(batchSize)}. Fix: pass a whole number from 1 to 50000, or leave it out for ${ARCHIVE_BATCH_SIZE}`);
  assertArchiveName(options.name);
}
