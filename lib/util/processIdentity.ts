import { readFileSync } from 'node:fs';

/**
 * Whether a pid on this host still names the process that wrote it down. `kill(pid, 0)` alone
 * says only that some process has the pid; on Linux the boot id and the process's start time tell
 * a reboot or a reused pid apart, so a lock left by a crash is not held forever by whatever
 * process got its pid later. Elsewhere those two are unknown and only the pid counts.
 */
export interface ProcessIdentity {
  pid: number;
  /** /proc/sys/kernel/random/boot_id: changes at every boot (Linux only). */
  bootId?: string;
  /** Field 22 of /proc/<pid>/stat: clock ticks from boot to the process's start (Linux only). */
  startTicks?: string;
}

export function ownIdentity(): ProcessIdentity {
  const bootId = currentBootId();
  const startTicks = startTicksOf(process.pid);
  return { pid: process.pid, ...(bootId ? { bootId } : {}), ...(startTicks ? { startTicks } : {}) };
}

/** True when the process is running; a pid alive but belonging to another boot or a later process is not. */
export function stillRunning(identity: ProcessIdentity): boolean {
  if (!pidAlive(identity.pid)) return false;
  const bootId = currentBootId();
  if (identity.bootId && bootId && identity.bootId !== bootId) return false;
  const startTicks = startTicksOf(identity.pid);
  if (identity.startTicks && startTicks && identity.startTicks !== startTicks) return false;
  return true;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function currentBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function startTicksOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19];
    return ticks !== undefined && /^\d+$/.test(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}
