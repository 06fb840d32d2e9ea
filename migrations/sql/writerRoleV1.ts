/**
 * The SQL migration 20261130000000_writer_role installs, frozen as it was published. Later changes
 * ship as new migrations; this file never changes.
 */

/** The chain lock every writer takes (lib/store/appendSql.ts CHAIN_LOCK_KEY), as published. */
const CHAIN_LOCK_KEY_V1 = 7_318_245_501;

/** Signatures are never changed or removed: a key-holder's signature is the only proof a row is the writer's. */
export const SIGNATURES_APPEND_ONLY_FUNCTION_V1 = `
create or replace function activity_tracking_signatures_append_only() returns trigger language plpgsql as $fn$
begin
  raise exception 'activity_tracking: % is append-only; % is refused', tg_table_name, tg_op
    using errcode = 'insufficient_privilege', hint = 'Batch signatures are added by the writer as it appends; none is ever changed or removed';
end
$fn$`;

/**
 * Appends a batch like activity_tracking_append and returns the chain positions it took and the
 * last one's hash, so a writer with a signing key signs exactly the batch's rows in the same
 * transaction (still under the chain lock, taken here first so the head read before is the one the
 * batch follows) at the cost of one more statement. No row when nothing new was stored.
 */
export const APPEND_HEAD_FUNCTION_V1 = `
create or replace function activity_tracking_append_head(p_rows jsonb, p_session_events boolean default true, p_risk jsonb default null)
returns table (first_position bigint, last_position bigint, last_hash text) language plpgsql volatile as $fn$
declare
  v_before bigint;
begin
  perform pg_advisory_xact_lock(${CHAIN_LOCK_KEY_V1});
  select coalesce(max(u.chain_position), 0) into v_before from user_activity u;
  perform activity_tracking_append(p_rows, p_session_events, p_risk);
  return query select v_before + 1, u.chain_position, u.row_hash from user_activity u
    where u.chain_position > v_before order by u.chain_position desc limit 1;
end
$fn$`;

/**
 * Deletes the chain positions p_from to p_to for the retention job, as the owner: the append-only
 * trigger still decides, and lets a row go only when a retention record chained after it covers
 * it. Returns how many rows went.
 */
export const REMOVE_PREFIX_FUNCTION_V1 = `
create or replace function activity_tracking_remove_prefix(p_from bigint, p_to bigint) returns bigint language plpgsql volatile as $fn$
declare
  v_removed bigint;
begin
  delete from user_activity where chain_position between p_from and p_to;
  get diagnostics v_removed = row_count;
  return v_removed;
end
$fn$`;

/**
 * The functions the writer role calls instead of writing user_activity itself: they run as their
 * owner (the migration owner), with the search path pinned to the schema they were installed in,
 * so no object of the caller's (a temporary table or function first in its path) is ever used.
 */
export const DEFINER_FUNCTIONS_V1: readonly string[] = [
  'activity_tracking_append(jsonb, boolean, jsonb)',
  'activity_tracking_end_sessions(jsonb, text, jsonb)',
  'activity_tracking_append_head(jsonb, boolean, jsonb)',
  'activity_tracking_remove_prefix(bigint, bigint)',
];

/** `schema` is quoted already (quote_ident). */
export function definerStatementsV1(schema: string): string[] {
  return DEFINER_FUNCTIONS_V1.flatMap((fn) => [
    `alter function ${fn} security definer set search_path = ${schema}, pg_temp`,
    // Functions are executable by every role unless revoked; these are granted to the writer by name.
    `revoke execute on function ${fn} from public`,
  ]);
}
