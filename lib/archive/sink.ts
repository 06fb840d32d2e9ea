import type { Readable } from 'node:stream';
import { ActivityTrackingError } from '../errors';

/**
 * Where archives go: a folder by default (folderArchiveSink), or any store the app provides.
 * Bodies are streams both ways, because an archive of a month can hold millions of rows: a sink
 * never needs a whole archive in memory. `put` resolves only once the object is stored under its
 * final name (a half-written archive must never be found under it); `get` rejects when there is
 * no such object.
 *
 * An S3-compatible store (AWS, MinIO, R2, …) in a few lines, with @aws-sdk/client-s3 and
 * @aws-sdk/lib-storage (Upload streams a body of unknown length in parts):
 *
 *   import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
 *   import { Upload } from '@aws-sdk/lib-storage';
 *   import type { Readable } from 'node:stream';
 *   import type { ArchiveSink } from 'express-activity-tracking';
 *
 *   const s3 = new S3Client({ endpoint: process.env.S3_ENDPOINT, region: 'auto', forcePathStyle: true });
 *   const Bucket = 'activity-archives';
 *   const s3Sink: ArchiveSink = {
 *     put: async (name, body) => { await new Upload({ client: s3, params: { Bucket, Key: `trail/${name}`, Body: body } }).done(); },
 *     get: async (name) => (await s3.send(new GetObjectCommand({ Bucket, Key: `trail/${name}` }))).Body as Readable,
 *     exists: (name) => s3.send(new HeadObjectCommand({ Bucket, Key: `trail/${name}` })).then(() => true, () => false),
 *   };
 */
export interface ArchiveSink {
  /** Stores `body` under `name`, replacing what was there; resolves once it is stored in full. */
  put(name: string, body: Readable): Promise<void>;
  /** The object stored under `name`; rejects when there is none. */
  get(name: string): Promise<Readable>;
  /** Whether an object is stored under `name`. */
  exists?(name: string): Promise<boolean>;
}

/** The format an archive's manifest names; a reader refuses any other. */
export const ARCHIVE_FORMAT = 'activity-tracking-archive/1';

/**
 * An archive's name: letters, digits, `.`, `_` and `-`, starting with a letter or digit. The
 * same in every sink (no folders: a sink that wants a prefix adds its own), and never the name of
 * a folder sink's temporary files, which start with a dot.
 */
const ARCHIVE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** The two objects of archive `name`: its rows and its manifest. */
export function archiveFileNames(name: string): { data: string; manifest: string } {
  return { data: `${name}.ndjson.gz`, manifest: `${name}.manifest.json` };
}

/** Whether `name` is usable as an archive's (or a sink object's) name. */
export function isArchiveName(name: unknown): name is string {
  return typeof name === 'string' && ARCHIVE_NAME.test(name) && !name.includes('..');
}

export function assertArchiveName(name: unknown, what = 'name'): asserts name is string {
  if (!isArchiveName(name)) {
    throw new ActivityTrackingError('ERR_AT_INVALID_OPTION', `Invalid archive ${what}: ${JSON.stringify(name)?.slice(0, 100)}. Fix: use letters, digits, ".", "_" and "-" only (up to 200, starting with a letter or digit, no ".."), e.g. "activity-2026-01"`);
  }
}
