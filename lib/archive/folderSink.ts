import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../privateFiles';
import { assertArchiveName, type ArchiveSink } from './sink';

/**
 * The filesystem sink: each object a file in `folder`. Archives hold the trail itself, so the
 * folder is made private to the process's user (0700) and each file is created 0600, whatever the
 * umask. A file is written under a temporary name (a dot name no archive can have), flushed to
 * disk, then renamed: an archive under its final name is always whole, also after a crash.
 */
export function folderArchiveSink(folder: string): ArchiveSink {
  const dir = path.resolve(folder);
  const fileOf = (name: string): string => {
    assertArchiveName(name, 'file name');
    return path.join(dir, name);
  };
  return {
    async put(name, body) {
      const final = fileOf(name);
      await preparePrivateFolder(dir);
      const temp = path.join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
      const handle = await open(temp, 'wx', PRIVATE_FILE_MODE);
      try {
        // Chunk by chunk, each write awaited: the body is read only as fast as the disk takes it.
        for await (const chunk of body) {
          const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Uint8Array;
          await handle.write(bytes, 0, bytes.length);
        }
        await handle.sync();
      } catch (error) {
        await handle.close().catch(() => undefined);
        await rm(temp, { force: true });
        throw error;
      }
      await handle.close();
      await rename(temp, final);
      await syncFolder(dir);
    },
    async get(name) {
      const handle = await open(fileOf(name), 'r');
      return handle.createReadStream() as Readable;
    },
    async exists(name) {
      try {
        return (await stat(fileOf(name))).isFile();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
    },
  };
}

/** Creates the folder 0700, and tightens it when it was there with a looser mode. */
async function preparePrivateFolder(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (((await stat(dir)).mode & 0o777) !== PRIVATE_DIR_MODE) await chmod(dir, PRIVATE_DIR_MODE);
}

/** Makes the rename durable: flushes the folder's entry list where the system allows it (not on Windows). */
async function syncFolder(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Best effort: the file's own bytes were flushed before the rename.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
