import { readFileSync } from 'node:fs';

/** Linux reports process CPU in clock ticks of 10 ms (USER_HZ is 100 on every architecture Node supports). */
export const CLOCK_TICK_MS = 10;

/** A process's command name and CPU time so far (user + system, ms) from /proc; null when it is gone or there is no /proc. */
export function processCpu(pid: number | string): { name: string; cpuMs: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const rest = stat.slice(close + 2).split(' ');
    return { name: stat.slice(open + 1, close), cpuMs: (Number(rest[11]) + Number(rest[12])) * CLOCK_TICK_MS }; // utime, stime (fields 14 and 15)
  } catch {
    return null;
  }
}
