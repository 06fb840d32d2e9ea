import type { Knex } from 'knex';
import type { Database } from '../database';
import type { Period } from '../reports/filters';
import { builtDays, builtHours } from './build';

/**
 * How a report reads a period from the rollups: the built whole days in `days` from
 * activity_daily_rollups, the built whole hours in `hours` from activity_hourly_rollups, and
 * everything else from user_activity with `raw`: the partial hours at both ends, the hours nobody
 * built yet, and the rows of built days and hours stored after their built_through_position.
 */
export interface RollupPlan {
  /** Runs of days, `YYYY-MM-DD` to `YYYY-MM-DD` inclusive. */
  days: Array<[string, string]>;
  /** Runs of hours, [from, to) in epoch milliseconds. */
  hours: Array<[number, number]>;
  /** A condition on user_activity (columns qualified with the table's name) and its bindings. */
  raw: RawRows;
  /** `raw` for the dimensions that are not counted per hour: the hours are read from the rows too. */
  rawWithoutHours: RawRows;
}

export interface RawRows { sql: string; bindings: Knex.RawBinding[] }

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const dayOf = (time: number): string => new Date(time).toISOString().slice(0, 10);

/** Where one hour of the period is read from: a built day, a built hour (with its position) or the rows. */
type Source = { kind: 'day' | 'hour'; builtThrough: number } | { kind: 'rows' };

/**
 * The plan for `period`, or null when nothing of it is built (the report then scans as before).
 * `hours: false` (GET /me/summary, whose per-user dimension is daily only) reads whole days alone.
 * A day or an hour is whole when the period reaches its last millisecond (start_time keeps
 * milliseconds); a row at the next midnight or full hour belongs to the next one.
 */
export async function rollupPlan(db: Database, period: Period, options: { hours: boolean }): Promise<RollupPlan | null> {
  const start = period.startDate.getTime();
  const end = period.endDate.getTime();
  const unit = options.hours ? HOUR_MS : DAY_MS;
  const firstWhole = Math.ceil(start / unit) * unit;
  const wholeEnd = Math.floor((end + 1) / unit) * unit;
  if (wholeEnd <= firstWhole) return null;
  const firstDay = Math.ceil(start / DAY_MS) * DAY_MS;
  const dayEnd = Math.floor((end + 1) / DAY_MS) * DAY_MS;
  const days = new Map(dayEnd > firstDay ? (await builtDays(db, dayOf(firstDay), dayOf(dayEnd - DAY_MS))).map((d) => [d.day, d.builtThrough]) : []);
  const hours = new Map(options.hours ? (await builtHours(db, firstWhole, wholeEnd, firstDay, dayEnd)).map((h) => [h.hour, h.builtThrough]) : []);
  if (days.size === 0 && hours.size === 0) return null;

  const sourceOf = (time: number): Source => {
    const day = Math.floor(time / DAY_MS) * DAY_MS;
    const dayBuilt = day >= firstDay && day < dayEnd ? days.get(dayOf(day)) : undefined;
    if (dayBuilt !== undefined) return { kind: 'day', builtThrough: dayBuilt };
    const hourBuilt = hours.get(time);
    return hourBuilt === undefined ? { kind: 'rows' } : { kind: 'hour', builtThrough: hourBuilt };
  };
  const plan: RollupPlan = { days: [], hours: [], raw: { sql: '', bindings: [] }, rawWithoutHours: { sql: '', bindings: [] } };
  const parts: string[] = [];
  const partsWithoutHours: string[] = [];
  const add = (to: { parts: string[]; rows: RawRows }, from: number, until: number, after?: number): void => {
    to.parts.push(`(${after === undefined ? '' : 'user_activity.chain_position > ? and '}user_activity.start_time >= ? and user_activity.start_time < ?)`);
    to.rows.bindings.push(...(after === undefined ? [] : [after]), new Date(from), new Date(until));
  };
  const withHours = { parts, rows: plan.raw };
  const withoutHours = { parts: partsWithoutHours, rows: plan.rawWithoutHours };
  const range = (from: number, to: number, after?: number): void => {
    if (to <= from) return;
    add(withHours, from, to, after);
    add(withoutHours, from, to, after);
  };
  const close = (source: Source, from: number, to: number): void => {
    if (source.kind === 'rows') return range(from, to);
    if (source.kind === 'day') {
      plan.days.push([dayOf(from), dayOf(to - DAY_MS)]);
      return range(from, to, source.builtThrough);
    }
    plan.hours.push([from, to]);
    add(withHours, from, to, source.builtThrough);
    add(withoutHours, from, to);
  };
  // Runs of units read alike: from the same granularity built through the same position, or from the rows.
  const same = (a: Source, b: Source): boolean => a.kind === b.kind && (a.kind === 'rows' || a.builtThrough === (b as { builtThrough: number }).builtThrough);
  let runStart = firstWhole;
  let run = sourceOf(firstWhole);
  // A day read from the daily rollups is stepped over whole; elsewhere the period is walked hour by hour.
  const step = (time: number, source: Source): number => (source.kind === 'day' ? Math.floor(time / DAY_MS) * DAY_MS + DAY_MS : time + unit);
  for (let time = step(firstWhole, run); time < wholeEnd; time = step(time, sourceOf(time))) {
    const source = sourceOf(time);
    if (same(source, run)) continue;
    close(run, runStart, time);
    runStart = time;
    run = source;
  }
  close(run, runStart, wholeEnd);
  range(start, firstWhole);
  for (const { parts: list, rows } of [withHours, withoutHours]) {
    list.push('(user_activity.start_time >= ? and user_activity.start_time <= ?)');
    rows.bindings.push(new Date(wholeEnd), period.endDate);
    rows.sql = `(${list.join(' or ')})`;
  }
  return plan;
}
