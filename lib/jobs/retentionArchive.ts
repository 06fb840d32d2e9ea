import { ActivityTrackingError } from '../errors';
import { messageOf } from '../util/messageOf';
import type { BatchSigningKey } from '../integrity/batchSignatures';
import { readBackArchive } from '../archive/readBack';
import type { ArchiveSink } from '../archive/sink';
import { writeArchive } from '../archive/writeArchive';
import type { Database } from '../store/database';
import type { ExpiredPrefix } from '../store/jobs/retention';

/** What a retention record says of the archive of the rows it removed. */
export interface ArchivedRemoval {
  name: string;
  dataSha256: string;
}

/** Sortable by position: the archives of a trail list in chain order. */
export function archiveNameOf(prefix: ExpiredPrefix): string {
  return `activity-${String(prefix.from).padStart(12, '0')}-${String(prefix.to).padStart(12, '0')}`;
}

/**
 * Writes the positions of `prefix` to the sink and reads the archive back: the rows may go only when
 * what the sink now holds is whole, intact and (with a key) signed. Throws ERR_AT_ARCHIVE with what
 * was wrong otherwise, so the retention run stops before it removes anything.
 */
export async function archiveBeforeRemoval(db: Database, sink: ArchiveSink, prefix: ExpiredPrefix, cutoff: Date, signingKey: BatchSigningKey | null | undefined): Promise<ArchivedRemoval> {
  const name = archiveNameOf(prefix);
  let written: Awaited<ReturnType<typeof writeArchive>>;
  try {
    written = await writeArchive(db, { fromPosition: prefix.from, toPosition: prefix.to, cutoff, sink, name, signingKey: signingKey ?? null });
  } catch (error) {
    // A sink's own failure (ENOSPC, EACCES, a refused upload) says what broke, not what it stopped.
    throw new ActivityTrackingError('ERR_AT_ARCHIVE',
      `Retention removed nothing: the archive ${name} of chain positions ${prefix.from} to ${prefix.to} could not be written (${messageOf(error)}). Fix: check the archive sink (its space, its permissions), then let the job run again`, { cause: error });
  }
  const read = await readBackArchive(sink, name, { signingKey: signingKey ?? null });
  const same = read.manifest !== null && read.manifest.dataSha256 === written.dataSha256 && read.manifest.rowCount === prefix.count
    && read.manifest.lastRowHash === prefix.lastHash;
  if (!read.ok || !same) {
    const why = read.problems.slice(0, 3).map((p) => `${p.problem}: ${p.message}`).join('; ') || 'the archive read back is not the one written';
    throw new ActivityTrackingError('ERR_AT_ARCHIVE',
      `Retention removed nothing: the archive ${name} of chain positions ${prefix.from} to ${prefix.to} did not read back intact (${why}). Fix: check the archive sink (its space, its permissions), then let the job run again`);
  }
  return { name, dataSha256: written.dataSha256 };
}
