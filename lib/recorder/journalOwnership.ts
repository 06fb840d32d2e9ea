import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PRIVATE_FILE_MODE } from '../privateFiles';

/**
 * Several processes may share one journal folder (a cluster of workers, a restarted container).
 * Each writes only segments named after its own owner id and keeps `<owner>.lock` fresh while it
 * lives; segments whose owner is gone (lock removed at close, process dead on this host, or, for
 * a process on another host sharing the folder, lock not refreshed for `staleMs`) are orphans, and
 * the first process to rename them adopts and replays them. rename is atomic, so two adopters
 * never both take one segment.
 */
export const SEGMENT_PATTERN = /^(.+)-(\d{6})\.journal$/;

export interface LockContent {
  pid: number;
  hostname: string;
  startedAt: string;
}

/** Owners alive in this process: several trackers may share a process and a folder. */
const ownersInThisProcess = new Set<string>();

export function newOwnerId(): string {
  const owner = `${process.pid}-${randomBytes(4).toString('hex')}`;
  ownersInThisProcess.add(owner);
  return owner;
}

export function releaseOwner(owner: string): void {
  ownersInThisProcess.delete(owner);
}

export function segmentName(owner: string, seq: number): string {
  return `${owner}-${String(seq).padStart(6, '0')}.journal`;
}

export function lockPath(dir: string, owner: string): string {
  return path.join(dir, `${owner}.lock`);
}

export async function writeLock(dir: string, owner: string): Promise<void> {
  const content: LockContent = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString() };
  await fs.writeFile(lockPath(dir, owner), JSON.stringify(content), { mode: PRIVATE_FILE_MODE });
}

export async function touchLock(dir: string, owner: string): Promise<void> {
  const now = new Date();
  await fs.utimes(lockPath(dir, owner), now, now);
}

/** Owners other than `self` whose segments nobody is looking after any more. */
export async function orphanedOwners(dir: string, self: string, staleMs: number): Promise<Map<string, string[]>> {
  const names = await fs.readdir(dir);
  const byOwner = new Map<string, Array<{ name: string; seq: number }>>();
  for (const name of names) {
    const match = SEGMENT_PATTERN.exec(name);
    if (!match || match[1] === self) continue;
    const owner = match[1] as string;
    const list = byOwner.get(owner) ?? [];
    list.push({ name, seq: Number(match[2]) });
    byOwner.set(owner, list);
  }
  const orphans = new Map<string, string[]>();
  for (const [owner, segments] of byOwner) {
    if (await ownerAlive(dir, owner, staleMs)) continue;
    orphans.set(owner, segments.sort((a, b) => a.seq - b.seq).map((s) => s.name));
  }
  return orphans;
}

async function ownerAlive(dir: string, owner: string, staleMs: number): Promise<boolean> {
  let stat;
  let content: Partial<LockContent>;
  try {
    stat = await fs.stat(lockPath(dir, owner));
    content = JSON.parse(await fs.readFile(lockPath(dir, owner), 'utf8')) as Partial<LockContent>;
  } catch {
    return false;
  }
  if (content.hostname === os.hostname() && typeof content.pid === 'number') {
    // Same host: the pid decides, so a live process that stalls is never robbed. A dead pid is
    // gone; so is this pid under an owner id this process never made (a previous life of the pid).
    if (content.pid === process.pid) return ownersInThisProcess.has(owner);
    return pidAlive(content.pid);
  }
  // Another host (a shared volume): only the heartbeat tells.
  return Date.now() - stat.mtimeMs <= staleMs;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
