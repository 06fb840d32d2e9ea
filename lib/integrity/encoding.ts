/**
 * The hash chain's encoding and the SQL that computes it: shared by the migration that installs the
 * functions, the batch writer and the verifier, so all three hash the same bytes.
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
 */
const CONTENT_PARAMETERS = `p_position bigint, p_id uuid, p_user_id text, p_session_id text, p_activity_type text,
  p_entity_type text, p_entity_id text, p_action text, p_details jsonb, p_ip_address text, p_user_agent text,
  p_browser text, p_operating_system text, p_device_info jsonb, p_location jsonb, p_duration double precision,
  p_start_time timestamptz, p_end_time timestamptz, p_method text, p_path text, p_route text, p_status_code integer,
  p_success boolean, p_request_size integer, p_response_size integer`;
const CONTENT_ARGUMENTS = CONTENT_PARAMETERS.replace(/ (bigint|uuid|text|jsonb|double precision|timestamptz|integer|boolean)/g, '');

export const HASH_FUNCTIONS = [`
create or replace function activity_tracking_content_hash(${CONTENT_PARAMETERS}) returns text language sql immutable parallel safe as $fn$
  select encode(sha256(convert_to(row(
    'v1', p_position, p_id, p_user_id, p_session_id, p_activity_type, p_entity_type, p_entity_id, p_action,
    p_details, p_ip_address, p_user_agent, p_browser, p_operating_system, p_device_info, p_location, encode(float8send(p_duration), 'hex'),
    round(extract(epoch from p_start_time) * 1000), round(extract(epoch from p_end_time) * 1000),
    p_method, p_path, p_route, p_status_code, p_success, p_request_size, p_response_size
  )::text, 'UTF8')), 'hex')
$fn$`, `
create or replace function activity_tracking_link(p_prev_hash text, p_content_hash text) returns text language sql immutable parallel safe as $fn$
  select encode(sha256(convert_to(p_prev_hash || p_content_hash, 'UTF8')), 'hex')
$fn$`, `
create or replace function activity_tracking_row_hash(p_position bigint, p_prev_hash text, ${CONTENT_PARAMETERS.replace('p_position bigint, ', '')})
returns text language sql immutable parallel safe as $fn$
  select activity_tracking_link(p_prev_hash, activity_tracking_content_hash(${CONTENT_ARGUMENTS}))
$fn$`, `
create or replace function activity_tracking_chain_step(p_state text, p_content_hash text, p_start_hash text) returns text language plpgsql immutable as $fn$
begin
  -- PL/pgSQL rather than SQL: an aggregate calls its step once per row, and a SQL function is
  -- planned again on every call (three times slower, measured).
  return encode(sha256(convert_to(coalesce(p_state, p_start_hash) || p_content_hash, 'UTF8')), 'hex');
end
$fn$`,
// Running over a batch in order (a window with the default frame), each row's hash in one pass.
`create or replace aggregate activity_tracking_chain(text, text) (sfunc = activity_tracking_chain_step, stype = text)`];

/** The hash arguments, as read from a user_activity row (`t`). */
export const ROW_HASH_ARGUMENTS = `t.chain_position, t.prev_hash, t.id, t.user_id, t.session_id, t.activity_type, t.entity_type, t.entity_id, t.action,
  t.details, t.ip_address, t.user_agent, t.browser, t.operating_system, t.device_info, t.location, t.duration, t.start_time, t.end_time,
  t.method, t.path, t.route, t.status_code, t.success, t.request_size, t.response_size`;
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
