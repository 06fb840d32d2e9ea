/** Where retention archives what it removes: the `retention` option, its default and its checks. */
import path from 'node:path';
import { folderArchiveSink } from '../archive/folderSink';
import type { ArchiveSink } from '../archive/sink';
import { checkKnownKeys, invalid } from '../util/optionChecks';

export interface RetentionArchiveOptions {
  /**
   * Write what retention removes to an archive first (gzip'd NDJSON and a signed manifest, see
   * README "Archives"), and remove nothing whose archive could not be written and read back.
   * `true`: the folder `<dataDir>/archive`; a string: that folder; or a sink of the app's (an
   * `ArchiveSink`: `put` and `get` of named streams, e.g. an S3 bucket). Environment:
   * `ACTIVITY_RETENTION_ARCHIVE` (a folder), read when the option is not given.
   * @default none: removed activity is not archived
   */
  archive?: boolean | string | ArchiveSink;
}

export interface RetentionGroupOptions {
  /**
   * What retention does with what it removes beyond `retentionDays`: `{ archive }` below.
   * @default none: removed activity is not archived
   */
  retention?: RetentionArchiveOptions;
}

export interface ResolvedRetentionOptions {
  /** The sink retention archives to; null when it does not archive. */
  retentionArchive: ArchiveSink | null;
}

export function resolveRetentionOptions(opts: RetentionGroupOptions, env: NodeJS.ProcessEnv, dataDir: string): ResolvedRetentionOptions {
  const group = opts.retention ?? {};
  if (group === null || typeof group !== 'object' || Array.isArray(group)) throw invalid('retention', group, 'pass an object such as { archive: true }');
  checkKnownKeys(group, ['archive'], 'retention');
  const archive = group.archive ?? (env['ACTIVITY_RETENTION_ARCHIVE'] || undefined);
  const name = group.archive === undefined ? 'ACTIVITY_RETENTION_ARCHIVE' : 'retention.archive';
  if (archive === undefined || archive === false) return { retentionArchive: null };
  if (archive === true) return { retentionArchive: folderArchiveSink(path.join(dataDir, 'archive')) };
  if (typeof archive === 'string') {
    if (archive.trim() === '') throw invalid(name, archive, 'pass a folder path, true for <dataDir>/archive, or an ArchiveSink');
    return { retentionArchive: folderArchiveSink(archive) };
  }
  if (typeof archive === 'object' && typeof archive.put === 'function' && typeof archive.get === 'function') return { retentionArchive: archive };
  throw invalid(name, archive, 'pass true (the folder <dataDir>/archive), a folder path, or an object with put(name, body) and get(name) (an ArchiveSink)');
}
