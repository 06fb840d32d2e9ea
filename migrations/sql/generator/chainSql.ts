import { V2_COLUMNS } from '../../../lib/integrity/encoding';

/**
 * The SQL side of the hash chain's encoding (lib/integrity/encoding.ts describes it): the hash
 * functions a migration installs and the fragments that call them. Nothing here runs in the
 * package: migrations install frozen copies (migrations/sql/*.ts, written by `npm run sql:freeze`),
 * and tests and benchmarks use the fragments to call the installed functions.
 */

type Column = readonly [column: string, type: string];

/** The version-1 content columns, in encoding order, in the lines the published SQL breaks them into. */
const V1_LINES: ReadonlyArray<readonly Column[]> = [
  [['position', 'bigint'], ['id', 'uuid'], ['user_id', 'text'], ['session_id', 'text'], ['activity_type', 'text']],
  [['entity_type', 'text'], ['entity_id', 'text'], ['action', 'text'], ['details', 'jsonb'], ['ip_address', 'text'], ['user_agent', 'text']],
  [['browser', 'text'], ['operating_system', 'text'], ['device_info', 'jsonb'], ['location', 'jsonb'], ['duration', 'double precision']],
  [['start_time', 'timestamptz'], ['end_time', 'timestamptz'], ['method', 'text'], ['path', 'text'], ['route', 'text'], ['status_code', 'integer']],
  [['success', 'boolean'], ['request_size', 'integer'], ['response_size', 'integer']],
];

/** Items joined by ', ' within a line and ',\n  ' between lines. */
const listLines = (lines: ReadonlyArray<readonly string[]>): string => lines.filter((line) => line.length > 0).map((line) => line.join(', ')).join(',\n  ');

/** The content parameters (version 1 lines, then version 2 on the last line), rendered by `item`, without those `skip` names. */
function contentList(item: (column: Column) => string, skip: readonly string[] = []): string {
  const lines = V1_LINES.map((line) => line.filter(([column]) => !skip.includes(column)).map(item));
  // Version 2's parameters continue the last version-1 line.
  const last = [...(lines.pop() ?? []), ...V2_COLUMNS.map(item)];
  return listLines([...lines, last]);
}
const parameter = ([column, type]: Column): string => `p_${column} ${type}`;
const argument = ([column]: Column): string => `p_${column}`;

const V1_ARGUMENTS = listLines(V1_LINES.map((line) => line.map(argument)));
const V2_ARGUMENTS = V2_COLUMNS.map(argument).join(', ');

/** The types of activity_tracking_row_hash's arguments, in order: its signature. */
export const ROW_HASH_SIGNATURE = ['bigint', 'text', ...V1_LINES.flat().slice(1).map(([, type]) => type), ...V2_COLUMNS.map(([, type]) => type)].join(', ');

const V1_RECORD = `row(
    'v1', p_position, p_id, p_user_id, p_session_id, p_activity_type, p_entity_type, p_entity_id, p_action,
    p_details, p_ip_address, p_user_agent, p_browser, p_operating_system, p_device_info, p_location, encode(float8send(p_duration), 'hex'),
    round(extract(epoch from p_start_time) * 1000), round(extract(epoch from p_end_time) * 1000),
    p_method, p_path, p_route, p_status_code, p_success, p_request_size, p_response_size
  )::text`;
const V2_RECORD = `row('v2', ${V2_COLUMNS.map(([column, type]) => (type === 'double precision' ? `encode(float8send(p_${column}), 'hex')` : `p_${column}`)).join(', ')})::text`;

/**
 * The version-2 hash functions (the version-1 ones, which these call for rows without version-2
 * values, are installed by migration 20261125000000_integrity). The 25- and 41-argument functions are overloads.
 */
export const HASH_FUNCTIONS = [`
create or replace function activity_tracking_content_hash(${contentList(parameter)}) returns text language sql immutable parallel safe as $fn$
  select case when num_nonnulls(${V2_ARGUMENTS}) = 0
    then activity_tracking_content_hash(${V1_ARGUMENTS})
    else encode(sha256(convert_to(${V1_RECORD} || ${V2_RECORD}, 'UTF8')), 'hex')
  end
$fn$`, `
create or replace function activity_tracking_row_hash(p_position bigint, p_prev_hash text, ${contentList(parameter, ['position'])})
returns text language sql immutable parallel safe as $fn$
  select activity_tracking_link(p_prev_hash, activity_tracking_content_hash(${contentList(argument)}))
$fn$`];

/** The columns activity_tracking_row_hash reads from a user_activity row, in argument order, in the lines its callers break them into. */
const ROW_HASH_LINES: ReadonlyArray<readonly string[]> = [
  ['chain_position', 'prev_hash', 'id', 'user_id', 'session_id', 'activity_type', 'entity_type', 'entity_id', 'action'],
  ['details', 'ip_address', 'user_agent', 'browser', 'operating_system', 'device_info', 'location', 'duration', 'start_time', 'end_time'],
  ['method', 'path', 'route', 'status_code', 'success', 'request_size', 'response_size'],
  V2_COLUMNS.map(([column]) => column),
];
/** The row hash arguments rendered by `item`, without those `skip` names. */
const rowHashList = (item: (column: string) => string, skip: readonly string[] = []): string =>
  listLines(ROW_HASH_LINES.map((line) => line.filter((column) => !skip.includes(column)).map(item)));

/** The hash arguments, as read from a user_activity row (`t`). */
export const ROW_HASH_ARGUMENTS = rowHashList((column) => `t.${column}`);
/** The content hash arguments: the row hash arguments without prev_hash. */
export const CONTENT_HASH_ARGUMENTS = rowHashList((column) => `t.${column}`, ['prev_hash']);
/** The content columns of user_activity, as a select list. */
export const CONTENT_COLUMNS = rowHashList((column) => column, ['chain_position', 'prev_hash']);

/**
 * Chains `rows` (a relation with the user_activity content columns and a batch order `k` from 1)
 * after the head position and hash: yields every column of rows plus position, prev_hash and
 * row_hash. One pass, whatever the batch size.
 */
export function chainRowsSql(rows: string, headPosition: string, headHash: string): string {
  const content = rowHashList((column) => (column === 'chain_position' ? `${headPosition} + r.k` : `r.${column}`), ['prev_hash']);
  return `select hashed.*, coalesce(lag(hashed.row_hash) over (order by hashed.k), ${headHash}) as prev_hash
    from (
      select r.*, ${headPosition} + r.k as position,
             activity_tracking_chain(activity_tracking_content_hash(${content}), ${headHash}) over (order by r.k) as row_hash
        from ${rows} r
    ) hashed`;
}
