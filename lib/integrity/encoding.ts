/**
 * The hash chain's encoding and the SQL that computes it, for the migrations that install the
 * functions and the batch writer. The verifier does not call these functions: it recomputes the
 * same bytes in JavaScript (recordEncoding.ts), and a test checks the two agree.
 */

/** The hash of the chain before its first row. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The canonical encoding, version 1: the text form PostgreSQL gives the record of these values, in
 * this order (a composite value's text form: parentheses, commas, a value quoted when it holds
 * special characters, nothing for NULL). Every value has one text form whatever the session's
 * settings: times as epoch milliseconds, the duration as the hex of its 8 IEEE-754 bytes (a float's
 * text depends on extra_float_digits), jsonb as jsonb prints it (keys in one fixed order, numbers
 * exact). The content hash is the hex SHA-256 of its UTF-8 bytes and covers the position; the row
 * hash is the hex SHA-256 of prev_hash followed by the content hash, so it covers the chain before.
 *
 * Version 2 (migration 20261126000000_domain_events) adds the domain-event, tenant and risk columns:
 * a row with any of them set is encoded as the version-1 record followed by the record
 * ('v2', those values); a row with none of them set is encoded exactly as in version 1, so rows
 * stored before version 2 verify unchanged. The 25- and 41-argument functions are overloads.
 */
const V1_PARAMETERS = `p_position bigint, p_id uuid, p_user_id text, p_session_id text, p_activity_type text,
  p_entity_type text, p_entity_id text, p_action text, p_details jsonb, p_ip_address text, p_user_agent text,
  p_browser text, p_operating_system text, p_device_info jsonb, p_location jsonb, p_duration double precision,
  p_start_time timestamptz, p_end_time timestamptz, p_method text, p_path text, p_route text, p_status_code integer,
  p_success boolean, p_request_size integer, p_response_size integer`;

/** The columns version 2 adds, in encoding order, with their types. */
export const V2_COLUMNS: ReadonlyArray<readonly [column: string, type: string]> = [
  ['actor_type', 'text'], ['actor_role', 'text'], ['actor_name', 'text'], ['category', 'text'], ['severity', 'text'],
  ['entity_name', 'text'], ['tenant_id', 'text'], ['owner_id', 'text'], ['status', 'text'], ['reason', 'text'],
  ['changes', 'jsonb'], ['personal_data', 'boolean'], ['risk_score', 'double precision'], ['risk_factors', 'jsonb'], ['anomaly', 'boolean'],
];
const V2_PARAMETERS = V2_COLUMNS.map(([column, type]) => `p_${column} ${type}`).join(', ');
const CONTENT_PARAMETERS = `${V1_PARAMETERS}, ${V2_PARAMETERS}`;
const argumentsOf = (parameters: string): string => parameters.replace(/ (bigint|uuid|text|jsonb|double precision|timestamptz|integer|boolean)/g, '');
const V1_ARGUMENTS = argumentsOf(V1_PARAMETERS);
const V2_ARGUMENTS = argumentsOf(V2_PARAMETERS);
const CONTENT_ARGUMENTS = argumentsOf(CONTENT_PARAMETERS);
/** The types of activity_tracking_row_hash's arguments, in order: its signature. */
export const ROW_HASH_SIGNATURE = `bigint, text, ${CONTENT_PARAMETERS.replace('p_position bigint, ', '')}`.replace(/\bp_\w+ /g, '').replace(/\s+/g, ' ');

const V1_RECORD = `row(
    'v1', p_position, p_id, p_user_id, p_session_id, p_activity_type, p_entity_type, p_entity_id, p_action,
    p_details, p_ip_address, p_user_agent, p_browser, p_operating_system, p_device_info, p_location, encode(float8send(p_duration), 'hex'),
    round(extract(epoch from p_start_time) * 1000), round(extract(epoch from p_end_time) * 1000),
    p_method, p_path, p_route, p_status_code, p_success, p_request_size, p_response_size
  )::text`;
const V2_RECORD = `row('v2', ${V2_COLUMNS.map(([column, type]) => (type === 'double precision' ? `encode(float8send(p_${column}), 'hex')` : `p_${column}`)).join(', ')})::text`;

/**
 * The version-2 hash functions (the version-1 ones, which these call for rows without version-2
 * values, are installed by migration 20261125000000_integrity).
 */
export const HASH_FUNCTIONS = [`
create or replace function activity_tracking_content_hash(${CONTENT_PARAMETERS}) returns text language sql immutable parallel safe as $fn$
  select case when num_nonnulls(${V2_ARGUMENTS}) = 0
    then activity_tracking_content_hash(${V1_ARGUMENTS})
    else encode(sha256(convert_to(${V1_RECORD} || ${V2_RECORD}, 'UTF8')), 'hex')
  end
$fn$`, `
create or replace function activity_tracking_row_hash(p_position bigint, p_prev_hash text, ${CONTENT_PARAMETERS.replace('p_position bigint, ', '')})
returns text language sql immutable parallel safe as $fn$
  select activity_tracking_link(p_prev_hash, activity_tracking_content_hash(${CONTENT_ARGUMENTS}))
$fn$`];

/** The hash arguments, as read from a user_activity row (`t`). */
export const ROW_HASH_ARGUMENTS = `t.chain_position, t.prev_hash, t.id, t.user_id, t.session_id, t.activity_type, t.entity_type, t.entity_id, t.action,
  t.details, t.ip_address, t.user_agent, t.browser, t.operating_system, t.device_info, t.location, t.duration, t.start_time, t.end_time,
  t.method, t.path, t.route, t.status_code, t.success, t.request_size, t.response_size,
  ${V2_COLUMNS.map(([column]) => `t.${column}`).join(', ')}`;
/** The content hash arguments: the row hash arguments without prev_hash. */
export const CONTENT_HASH_ARGUMENTS = ROW_HASH_ARGUMENTS.replace('t.prev_hash, ', '');
/** The content columns of user_activity, as a select list. */
export const CONTENT_COLUMNS = CONTENT_HASH_ARGUMENTS.replace('t.chain_position, ', '').replace(/\bt\./g, '');

/**
 * Chains `rows` (a relation with the user_activity content columns and a batch order `k` from 1)
 * after the head position and hash: yields every column of rows plus position, prev_hash and
 * row_hash. One pass, whatever the batch size.
 */
export function chainRowsSql(rows: string, headPosition: string, headHash: string): string {
  const content = CONTENT_HASH_ARGUMENTS.replace('t.chain_position', `${headPosition} + r.k`).replace(/\bt\./g, 'r.');
  return `select hashed.*, coalesce(lag(hashed.row_hash) over (order by hashed.k), ${headHash}) as prev_hash
    from (
      select r.*, ${headPosition} + r.k as position,
             activity_tracking_chain(activity_tracking_content_hash(${content}), ${headHash}) over (order by r.k) as row_hash
        from ${rows} r
    ) hashed`;
}
