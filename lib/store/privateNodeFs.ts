import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import type { Logger } from '../types';
import { reportFailures, tightenTreeSync } from '../privateFiles';
import { messageOf } from '../util/messageOf';
import { createDatabaseInChild, hasDatabase } from './freshDatabase';

/**
 * PostgreSQL's default 128 MB of shared buffers is resident from the start (Emscripten zeroes the
 * memory it maps for them); with 16 MB an opened database holds 130 MB less. Pages beyond them come
 * from the operating system's file cache, a read call away. Measured: the embedded variant of
 * `npm run bench` within its noise (about 3,000 req/s either way); on a 121 MB table a sequential
 * scan takes the same time, 2,000 primary-key lookups 10-20% longer.
 */
const SHARED_BUFFERS = '16MB';

/**
 * PGlite's files would be 0666 whatever the umask: Emscripten's FS.open creates a file, then
 * chmods it to the mode PostgreSQL asked for (0666 for most), and its `umask` is a stub, so the
 * process umask never applies; folders come out 0777 less the umask. Its Node file system is
 * therefore given one change, per instance: every mode it sets on the real disk keeps only the
 * owner's bits (files 0600, folders 0700). Relations, WAL segments and other files PostgreSQL
 * creates later go through the same calls, so they come out private too, which a chmod at open
 * would not cover.
 */
export function openPrivatePGlite(dataDir: string, logger: Logger): PGlite {
  // Required here, not imported at the top, so apps on PostgreSQL never load the WebAssembly build.
  const { PGlite: PGliteClass } = require('@electric-sql/pglite') as typeof import('@electric-sql/pglite');
  const { NodeFS } = require('@electric-sql/pglite/nodefs') as typeof import('@electric-sql/pglite/nodefs');
  const startParams = [...PGliteClass.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`];

  class PrivateNodeFS extends NodeFS {
    private restricted = false;

    override async init(pg: PGlite, opts: Parameters<InstanceType<typeof NodeFS>['init']>[1]): ReturnType<InstanceType<typeof NodeFS>['init']> {
      if (!hasDatabase(dataDir)) await createInChild(dataDir, startParams, logger);
      const { emscriptenOpts } = await super.init(pg, opts);
      const preRun = [...(emscriptenOpts.preRun ?? []), (mod: unknown) => { this.restricted = restrictModes(mod); }];
      return { emscriptenOpts: { ...emscriptenOpts, preRun } as typeof emscriptenOpts };
    }

    override async closeFs(): Promise<void> {
      await super.closeFs();
      // A PGlite whose internals changed shape: make what it wrote private now, and say so.
      if (!this.restricted) reportFailures(tightenTreeSync(dataDir), logger);
    }

    checkRestricted(): void {
      if (this.restricted) return;
      logger.warn('The embedded database\'s file modes cannot be restricted as it writes (an unexpected PGlite version); its folder is private, and its files are made private when it closes', { dataDir });
      reportFailures(tightenTreeSync(dataDir), logger);
    }
  }

  const fs = new PrivateNodeFS(dataDir);
  const pglite = new PGliteClass({ fs, startParams } as PGliteOptions);
  pglite.waitReady.then(() => fs.checkRestricted(), () => undefined);
  return pglite;
}

/**
 * A new folder gets its database from a child process (see freshDatabase.ts), which creates its
 * files with PGlite's modes: they are made private here, before this process opens them. If the
 * child cannot do it, PGlite creates the database in this process, as it always did.
 */
async function createInChild(dataDir: string, startParams: readonly string[], logger: Logger): Promise<void> {
  try {
    await createDatabaseInChild(dataDir, startParams);
  } catch (error) {
    logger.warn(`The embedded database in ${dataDir} could not be created in a separate process (${messageOf(error)}); creating it in this one, which then keeps about 500 MB more memory until it exits`, { dataDir });
  }
  reportFailures(tightenTreeSync(dataDir), logger);
}

type SetAttr = (target: unknown, attr: { mode?: number | null }) => void;
type MkNod = (parent: unknown, name: string, mode: number, dev: number) => unknown;
interface EmscriptenNodeFs {
  node_ops?: { mknod?: MkNod; setattr?: SetAttr };
  stream_ops?: { setattr?: SetAttr };
}

const TYPE_BITS = 0o170000;
const REGULAR_FILE = 0o100000;

/** A regular file keeps read and write for its owner, anything else (a folder) the owner's bits. */
function ownerOnly(mode: number): number {
  const keep = (mode & TYPE_BITS) === REGULAR_FILE ? 0o600 : 0o700;
  return (mode & ~0o777) | (mode & keep);
}

/** Wraps the calls through which the Emscripten module sets modes on disk; false when they are not where expected. */
function restrictModes(mod: unknown): boolean {
  const nodefs = (mod as { NODEFS?: EmscriptenNodeFs }).NODEFS;
  const nodeOps = nodefs?.node_ops;
  const streamOps = nodefs?.stream_ops;
  if (!nodeOps?.mknod || !nodeOps.setattr || !streamOps?.setattr) return false;
  const { mknod, setattr } = nodeOps;
  const streamSetattr = streamOps.setattr;
  // A chmod carries the full mode (type bits included) of the node it changes.
  const restrict = (attr: { mode?: number | null }) => (attr.mode == null ? attr : { ...attr, mode: ownerOnly(attr.mode) });
  nodeOps.mknod = (parent, name, mode, dev) => mknod(parent, name, ownerOnly(mode), dev);
  nodeOps.setattr = (node, attr) => setattr(node, restrict(attr));
  streamOps.setattr = (stream, attr) => streamSetattr(stream, restrict(attr));
  return true;
}
