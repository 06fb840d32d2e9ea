import { PRIVILEGED_ROLES, PRIVILEGED_TYPES } from '../reports/privileged';

/**
 * What a day's rollup counts, one dimension per breakdown a long-period report reads. Each is the
 * dimension's name, its key (and second key) as text, and the rows it counts: GET /stats and
 * GET /me/summary leave asset requests out (statsRows in lib/store/reports/stats.ts), the compliance
 * report's type breakdown does not. Keys a report skips when null are not stored when null.
 * Expressions over user_activity; constants of this file, never caller input.
 */
export interface Dimension {
  name: string;
  key: string;
  key2?: string;
  /** The rows counted; null: every row. */
  rows: string | null;
  /**
   * Also counted per hour (default true). Not user_type, which only GET /me/summary reads (over
   * whole days), nor path.
   */
  hourly?: boolean;
}

const USED = `activity_type <> 'asset'`;
const quoted = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');
/** The compliance report's privileged rule (lib/store/reports/compliance.ts), over the same constants. */
export const PRIVILEGED_ROWS = `(coalesce(details->'custom'->>'role', details->>'role') in (${quoted(PRIVILEGED_ROLES)}) or activity_type in (${quoted(PRIVILEGED_TYPES)}))`;

export const DIMENSIONS: readonly Dimension[] = [
  { name: 'type', key: 'activity_type', rows: null },
  // The hour as text ('0' to '23'): the same hour date_part gives GET /stats.
  { name: 'hour', key: `date_part('hour', start_time at time zone 'UTC')::int::text`, rows: USED },
  // Not per hour: an hour's paths are nearly as many as its rows (ids in paths), so they would save no reading.
  { name: 'path', key: 'path', rows: `${USED} and path is not null`, hourly: false },
  { name: 'user', key: 'user_id', rows: `${USED} and user_id is not null` },
  { name: 'user_type', key: 'user_id', key2: 'activity_type', rows: `${USED} and user_id is not null`, hourly: false },
  { name: 'user_session', key: 'user_id', key2: 'session_id', rows: `${USED} and session_id is not null` },
  { name: 'device', key: `device_info->>'type'`, rows: USED },
  { name: 'browser', key: 'browser', rows: USED },
  { name: 'os', key: 'operating_system', rows: USED },
  { name: 'country', key: `location->>'country'`, rows: USED },
  { name: 'action', key: 'action', rows: `${USED} and action is not null` },
  { name: 'actor_type', key: 'actor_type', rows: USED },
  { name: 'failed_ip', key: 'ip_address', rows: `activity_type = 'login_failed' and ip_address is not null` },
  { name: 'failed_user', key: 'user_id', rows: `activity_type = 'login_failed' and user_id is not null` },
  { name: 'privileged', key: 'null::text', rows: PRIVILEGED_ROWS },
];

export type DimensionName = 'type' | 'hour' | 'path' | 'user' | 'user_type' | 'user_session' | 'device' | 'browser' | 'os' | 'country' | 'action' | 'actor_type' | 'failed_ip' | 'failed_user' | 'privileged';

export function dimension(name: DimensionName): Dimension {
  const found = DIMENSIONS.find((d) => d.name === name);
  if (!found) throw new Error(`No rollup dimension ${name}`);
  return found;
}

/**
 * A lateral VALUES list that turns each row into one row per dimension it is counted in (the
 * dimension's name, or null when the row is not counted there): one pass over the day's rows
 * builds every dimension.
 */
function dimensionValues(dimensions: readonly Dimension[]): string {
  return `(values ${dimensions.map((d) => `(${d.rows === null ? `'${d.name}'` : `case when ${d.rows} then '${d.name}' end`}, (${d.key})::text, (${d.key2 ?? 'null'})::text)`).join(',\n  ')}) as d(dimension, key, key2)`;
}

export const DIMENSION_VALUES = dimensionValues(DIMENSIONS);
export const HOURLY_DIMENSION_VALUES = dimensionValues(DIMENSIONS.filter((d) => d.hourly !== false));
