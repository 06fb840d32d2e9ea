/**
 * The SQL migration 20261129000000_retention_guard installs, frozen as it was when that migration
 * was published: the append-only trigger function that lets a user_activity row go only when the
 * chain itself holds a retention record for it, and the index that finds that record.
 */

/** Finds the retention record with the smallest toPosition at or after a position; only well-formed records are in it. */
export const RETENTION_RECORD_INDEX_V1 = `
create index if not exists user_activity_retention_records on user_activity (((details->>'toPosition')::numeric))
 where action = 'retention.removed' and activity_type = 'system_action' and entity_type = 'activity_trail'
   and jsonb_typeof(details->'toPosition') = 'number'`;

/**
 * A DELETE of a user_activity row is allowed only when a retention.removed record, already in the
 * chain at a later position, covers it: fromPosition <= position <= toPosition, removed equal to the
 * range's size, nothing before fromPosition left (rows leave only as a prefix of the chain), the row
 * started before the record's cutoff, the cutoff not after the record was stored, and the row at
 * toPosition carrying the record's lastRemovedHash. activity_retention authorizes nothing.
 */
export const APPEND_ONLY_FUNCTION_V2 = `
create or replace function activity_tracking_append_only() returns trigger language plpgsql as $fn$
declare
  v_record record;
  v_from numeric;
  v_to numeric;
begin
  -- Nested: PL/pgSQL does not promise to skip the second test, and other tables have no chain_position.
  if tg_op = 'DELETE' and tg_table_name = 'user_activity' then
    select u.chain_position, u.created_at, u.details into v_record
      from user_activity u
     where u.action = 'retention.removed' and u.activity_type = 'system_action' and u.entity_type = 'activity_trail'
       and jsonb_typeof(u.details->'toPosition') = 'number'
       and (u.details->>'toPosition')::numeric >= old.chain_position
     order by (u.details->>'toPosition')::numeric
     limit 1;
    if found and jsonb_typeof(v_record.details->'fromPosition') = 'number' and jsonb_typeof(v_record.details->'removed') = 'number'
       and coalesce(v_record.details->>'cutoff', '') ~ '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,6}){0,1}Z$' then
      v_from := (v_record.details->>'fromPosition')::numeric;
      v_to := (v_record.details->>'toPosition')::numeric;
      if v_from >= 1 and v_from <= old.chain_position and v_record.chain_position > v_to
         and (v_record.details->>'removed')::numeric = v_to - v_from + 1
         and old.start_time < (v_record.details->>'cutoff')::timestamptz
         and (v_record.details->>'cutoff')::timestamptz <= v_record.created_at
         and (old.chain_position < v_to or old.row_hash = v_record.details->>'lastRemovedHash')
         and not exists (select 1 from user_activity b where b.chain_position < v_from) then
        return old;
      end if;
    end if;
  end if;
  raise exception 'activity_tracking: % is append-only; % is refused (rows leave only through the retention job)', tg_table_name, tg_op
    using errcode = 'insufficient_privilege', hint = 'Run activity-tracking cleanup to remove activity older than the retention period';
end
$fn$`;

/** The function as migration 20261125000000_integrity installed it, for down(). */
export const APPEND_ONLY_FUNCTION_V1 = `
create or replace function activity_tracking_append_only() returns trigger language plpgsql as $fn$
begin
  -- Nested: PL/pgSQL does not promise to skip the second test, and other tables have no chain_position.
  if tg_op = 'DELETE' and tg_table_name = 'user_activity' then
    if old.chain_position <= coalesce((select max(to_position) from activity_retention), 0) then
      return old;
    end if;
  end if;
  raise exception 'activity_tracking: % is append-only; % is refused (rows leave only through the retention job)', tg_table_name, tg_op
    using errcode = 'insufficient_privilege', hint = 'Run activity-tracking cleanup to remove activity older than the retention period';
end
$fn$`;
