import type { Database } from '../store/database';
import { buildRollupDay, buildRollupHour, builtDays, builtHours, mergeLateRows } from '../store/rollups/build';

export interface RollupOptions {
  /** Days retention keeps: days it is about to remove are not built. */
  retentionDays: number;
  /** The time "closed days" are measured from. Default: now. */
  now?: Date;
}

export interface RollupResult {
  /** The days built by this run (each with its hours), newest first. */
  built: string[];
  /** The hours of the current day built by this run. */
  builtHours: number;
  /** Rollup groups that took rows stored after their day was built. */
  merged: number;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const dayOf = (time: number): string => new Date(time).toISOString().slice(0, 10);

/**
 * Keeps the rollups the long-period reports read: first merges rows stored since the last run into
 * the days and hours already built, then builds every closed UTC day that retention keeps whole and
 * that is not built yet, newest first, each with its hours (a day is its own transaction), and the
 * closed hours of the current day. Reports stay exact whatever the job has done: what it has not
 * built or merged yet they read from user_activity.
 */
export async function rollUpClosedDays(db: Database, options: RollupOptions): Promise<RollupResult> {
  const now = (options.now ?? new Date()).getTime();
  const merged = await mergeLateRows(db);
  const oldest = (await db.raw('select min(start_time) as start_time from user_activity')) as { rows: Array<{ start_time: Date | string | null }> };
  const result: RollupResult = { built: [], builtHours: 0, merged };
  if (!oldest.rows[0]?.start_time) return result;
  // The first day that starts at or after the retention cutoff: older days are about to lose rows.
  const keptFrom = Math.ceil((now - options.retentionDays * DAY_MS) / DAY_MS) * DAY_MS;
  const first = Math.max(Math.floor(new Date(oldest.rows[0].start_time).getTime() / DAY_MS) * DAY_MS, keptFrom);
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const last = today - DAY_MS;
  if (last >= first) {
    const built = new Set((await builtDays(db, dayOf(first), dayOf(last))).map((d) => d.day));
    for (let day = last; day >= first; day -= DAY_MS) {
      if (built.has(dayOf(day))) continue;
      await buildRollupDay(db, dayOf(day));
      result.built.push(dayOf(day));
    }
  }
  const closedHours = Math.floor(now / HOUR_MS) * HOUR_MS;
  const firstHour = Math.max(today, first);
  const builtToday = new Set((await builtHours(db, firstHour, closedHours, 0, 0)).map((h) => h.hour));
  for (let hour = firstHour; hour < closedHours; hour += HOUR_MS) {
    if (builtToday.has(hour)) continue;
    await buildRollupHour(db, new Date(hour));
    result.builtHours += 1;
  }
  return result;
}
