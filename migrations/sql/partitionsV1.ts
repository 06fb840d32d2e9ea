/**
 * The SQL migration 20261208000000_time_partitions installs, frozen: later changes ship as new
 * migrations; once that migration is published this file never changes.
 */

/**
 * The append-only trigger function of migration 20261129000000_retention_guard (APPEND_ONLY_FUNCTION_V2),
 * except that it knows the trail by the trigger's argument as well as by the table's name: a trigger
 * cloned onto a partition of user_activity fires with the partition's name in tg_table_name. Its
 * refusal names the table the caller wrote to, user_activity, not the partition. And it looks for
 * rows before the record's range by a bigint bound: compared with the numeric v_from, chain_position
 * was cast for every row and no index served, a scan of the table per deleted row (700 ms a row on
 * ten million rows).
 */
export const APPEND_ONLY_FUNCTION_V3 = `
create or replace function activity_tracking_append_only() returns trigger language plpgsql as $fn$
declare
  v_record record;
  v_from numeric;
  v_to numeric;
begin
  -- Nested: PL/pgSQL does not promise to skip the second test, and other tables have no chain_position.
  if tg_op = 'DELETE' and coalesce(tg_argv[0], tg_table_name) = 'user_activity' then
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
         and not exists (select 1 from user_activity b where b.chain_position < ceil(v_from)::bigint) then
        return old;
      end if;
    end if;
  end if;
  raise exception 'activity_tracking: % is append-only; % is refused (rows leave only through the retention job)', coalesce(tg_argv[0], tg_table_name), tg_op
    using errcode = 'insufficient_privilege', hint = 'Run activity-tracking cleanup to remove activity older than the retention period';
end
$fn$`;

/**
 * Creates the partition of user_activity for created_at in [p_from, p_to), named after its first
 * UTC day, with what every partition carries beyond the parent's indexes: unique id and
 * chain_position (a unique index on a partitioned table must hold the partition key; per partition
 * they need not), the TRUNCATE guard (statement triggers are not cloned), and the parent's
 * row-level security policy when the parent has one. Rows already in the default partition inside
 * the range stay there (a partition may not take rows from it), so the range then starts after
 * them. Returns the partition's name, or null when nothing was left to create. Runs as the owner,
 * so the writer role's job runner can call it and still owns nothing.
 */
export const CREATE_PARTITION_FUNCTION_V1 = `
create or replace function activity_tracking_create_partition(p_from timestamptz, p_to timestamptz) returns text language plpgsql volatile as $fn$
declare
  v_from timestamptz := p_from;
  v_taken timestamptz;
  v_name text;
  v_policy record;
begin
  if p_from is null or p_to is null or p_to <= p_from then
    raise exception 'activity_tracking: partition range [%, %) is empty', p_from, p_to using errcode = 'invalid_parameter_value';
  end if;
  select max(created_at) into v_taken from user_activity_default where created_at >= p_from and created_at < p_to;
  if v_taken is not null then
    v_from := v_taken + interval '1 millisecond';
  end if;
  if v_from >= p_to then
    return null;
  end if;
  v_name := 'user_activity_p' || to_char(v_from at time zone 'UTC', 'YYYYMMDD');
  if to_regclass(v_name) is not null then
    v_name := v_name || '_' || to_char(v_from at time zone 'UTC', 'HH24MISSMS');
  end if;
  execute format('create table %I partition of user_activity for values from (%L) to (%L)', v_name, v_from, p_to);
  execute format('create unique index %I on %I (id)', v_name || '_id_key', v_name);
  execute format('create unique index %I on %I (chain_position)', v_name || '_chain_position_key', v_name);
  execute format('create trigger %I before truncate on %I for each statement execute function activity_tracking_append_only(%L)', v_name || '_no_truncate', v_name, 'user_activity');
  execute format('comment on table %I is %L', v_name, 'Rows of user_activity stored from ' || v_from || ' to before ' || p_to || '; a partition, read through user_activity');
  if (select relrowsecurity from pg_class where oid = 'user_activity'::regclass) then
    execute format('alter table %I enable row level security', v_name);
    for v_policy in select policyname, qual, with_check from pg_policies where schemaname = current_schema() and tablename = 'user_activity' loop
      execute format('create policy %I on %I using (%s) with check (%s)', v_policy.policyname, v_name, v_policy.qual, coalesce(v_policy.with_check, v_policy.qual));
    end loop;
  end if;
  return v_name;
end
$fn$`;

/**
 * Detaches and drops one whole partition of user_activity for the retention job, as the owner,
 * under the rule the append-only trigger applies to each deleted row: a retention.removed record
 * already chained after the partition covers exactly its positions (fromPosition its first,
 * toPosition its last, removed its row count, lastRemovedHash its last row's hash), every row
 * started before the record's cutoff, the cutoff is not after the record was stored, and nothing
 * before the partition is left. An empty partition whose range has passed goes without a record.
 * Returns the number of rows that went.
 */
export const DROP_PARTITION_FUNCTION_V1 = `
create or replace function activity_tracking_drop_partition(p_name text) returns bigint language plpgsql volatile as $fn$
declare
  v_table regclass := to_regclass(p_name);
  v_first bigint;
  v_last bigint;
  v_count bigint;
  v_latest_start timestamptz;
  v_last_hash text;
  v_upper timestamptz;
  v_record record;
begin
  if v_table is null or p_name = 'user_activity_default'
     or not exists (select 1 from pg_inherits i where i.inhrelid = v_table and i.inhparent = 'user_activity'::regclass) then
    raise exception 'activity_tracking: % is not a dated partition of user_activity', p_name using errcode = 'invalid_parameter_value';
  end if;
  execute format('select min(chain_position), max(chain_position), count(*), max(start_time) from %I', p_name)
    into v_first, v_last, v_count, v_latest_start;
  if v_count = 0 then
    v_upper := (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz from pg_class c where c.oid = v_table;
    if v_upper is null or v_upper > clock_timestamp() then
      raise exception 'activity_tracking: partition % is empty but its range has not passed', p_name using errcode = 'insufficient_privilege';
    end if;
  else
    execute format('select row_hash from %I where chain_position = $1', p_name) into v_last_hash using v_last;
    select u.chain_position, u.created_at, u.details into v_record
      from user_activity u
     where u.action = 'retention.removed' and u.activity_type = 'system_action' and u.entity_type = 'activity_trail'
       and jsonb_typeof(u.details->'toPosition') = 'number'
       and (u.details->>'toPosition')::numeric >= v_last
     order by (u.details->>'toPosition')::numeric
     limit 1;
    if not found or jsonb_typeof(v_record.details->'fromPosition') <> 'number' or jsonb_typeof(v_record.details->'removed') <> 'number'
       or coalesce(v_record.details->>'cutoff', '') !~ '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,6}){0,1}Z$'
       or (v_record.details->>'fromPosition')::numeric <> v_first
       or (v_record.details->>'toPosition')::numeric <> v_last
       or (v_record.details->>'removed')::numeric <> v_count
       or v_count <> v_last - v_first + 1
       or v_record.chain_position <= v_last
       or v_latest_start >= (v_record.details->>'cutoff')::timestamptz
       or (v_record.details->>'cutoff')::timestamptz > v_record.created_at
       or v_last_hash is distinct from v_record.details->>'lastRemovedHash'
       or exists (select 1 from user_activity b where b.chain_position < v_first) then
      raise exception 'activity_tracking: user_activity is append-only; dropping partition % is refused (no chained retention record covers exactly its rows)', p_name
        using errcode = 'insufficient_privilege', hint = 'Run activity-tracking cleanup to remove activity older than the retention period';
    end if;
  end if;
  execute format('alter table user_activity detach partition %I', p_name);
  execute format('drop table %I', p_name);
  return v_count;
end
$fn$`;
