import type { Knex } from 'knex';

/**
 * The tamper-evident trail: every user_activity row gets a gapless chain position, the previous
 * row's hash and its own hash, computed by `activity_tracking_row_hash` (below) from the row's
 * recorded content; the table refuses UPDATE, DELETE and TRUNCATE, except deletes of rows a
 * retention record in `activity_retention` already covers.
 */

/** The hash of the chain before its first row. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The canonical encoding, version 1: the text PostgreSQL gives a jsonb array of these values, in
 * this order (jsonb prints object keys in one fixed order and numbers in their shortest exact
 * form, so equal content always prints the same); times as epoch milliseconds; hex SHA-256 of its
 * UTF-8 bytes. The previous hash and the position are inside it, so the hash covers both.
 */
const ROW_HASH_FUNCTION = `
create or replace function activity_tracking_row_hash(
  p_position bigint, p_prev_hash text, p_id uuid, p_user_id text, p_session_id text, p_activity_type text,
  p_entity_type text, p_entity_id text, p_action text, p_details jsonb, p_ip_address text, p_user_agent text,
  p_browser text, p_operating_system text, p_device_info jsonb, p_location jsonb, p_duration double precision,
  p_start_time timestamptz, p_end_time timestamptz, p_method text, p_path text, p_route text, p_status_code integer,
  p_success boolean, p_request_size integer, p_response_size integer
) returns text language sql immutable parallel safe as $fn$
  select encode(sha256(convert_to(jsonb_build_array(
    'v1', p_position, p_prev_hash, p_id, p_user_id, p_session_id, p_activity_type, p_entity_type, p_entity_id, p_action,
    p_details, p_ip_address, p_user_agent, p_browser, p_operating_system, p_device_info, p_location, p_duration,
    round(extract(epoch from p_start_time) * 1000), round(extract(epoch from p_end_time) * 1000),
    p_method, p_path, p_route, p_status_code, p_success, p_request_size, p_response_size
  )::text, 'UTF8')), 'hex')
$fn$`;

/** The hash arguments, as read from a user_activity row (`t`). */
export const ROW_HASH_ARGUMENTS = `t.chain_position, t.prev_hash, t.id, t.user_id, t.session_id, t.activity_type, t.entity_type, t.entity_id, t.action,
  t.details, t.ip_address, t.user_agent, t.browser, t.operating_system, t.device_info, t.location, t.duration, t.start_time, t.end_time,
  t.method, t.path, t.route, t.status_code, t.success, t.request_size, t.response_size`;

const APPEND_ONLY_FUNCTION = `
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

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('activity_retention', (t) => {
    t.comment('One row per retention run: which chain positions it removed; append-only.');
    t.bigIncrements('id').primary().comment('Surrogate key');
    t.bigInteger('from_position').notNullable().comment('First chain position removed');
    t.bigInteger('to_position').notNullable().comment('Last chain position removed; user_activity rows up to here may be deleted');
    t.integer('removed').notNullable().comment('Rows removed');
    t.text('last_removed_hash').notNullable().comment('row_hash of the row at to_position: the chain continues from it');
    t.timestamp('cutoff', { useTz: true, precision: 3 }).notNullable().comment('Activity that started before this was removed');
    t.text('job').notNullable().comment('What removed it: the retention job or the cleanup command');
    t.bigInteger('record_position').nullable().comment('Chain position of the user_activity row that records this run');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now()).comment('When the run happened');
  });

  await knex.schema.alterTable('user_activity', (t) => {
    t.bigInteger('chain_position').nullable().comment('Gapless position of the row in the hash chain, in commit order');
    t.text('prev_hash').nullable().comment('row_hash of the row at chain_position - 1 (64 zeros for the first row)');
    t.text('row_hash').nullable().comment('Hex SHA-256 of the canonical encoding of the row content and prev_hash (activity_tracking_row_hash)');
  });
  await knex.raw(ROW_HASH_FUNCTION);

  // Rows stored before this migration join the chain in the order they were stored.
  for (;;) {
    const result = (await knex.raw(`
      with recursive head as (
        select chain_position, row_hash from user_activity where chain_position is not null order by chain_position desc limit 1
      ), batch as (
        select id, row_number() over (order by created_at, start_time, id) as k
          from (select id, created_at, start_time from user_activity where chain_position is null order by created_at, start_time, id limit 1000) b
      ), chain as (
        select b.k, coalesce((select chain_position from head), 0) + 1 as position,
               coalesce((select row_hash from head), '${GENESIS_HASH}') as prev_hash, b.id
          from batch b where b.k = 1
        union all
        select b.k, c.position + 1, activity_tracking_row_hash(${ROW_HASH_ARGUMENTS.replace(/t\.chain_position/, 'c.position').replace(/t\.prev_hash/, 'c.prev_hash').replace(/\bt\./g, 'u.')}), b.id
          from chain c join user_activity u on u.id = c.id join batch b on b.k = c.k + 1
      )
      update user_activity t set chain_position = c.position, prev_hash = c.prev_hash,
             row_hash = activity_tracking_row_hash(${ROW_HASH_ARGUMENTS.replace(/t\.chain_position/, 'c.position').replace(/t\.prev_hash/, 'c.prev_hash')})
        from chain c where t.id = c.id`)) as { rowCount?: number; affectedRows?: number };
    if (Number(result.rowCount ?? result.affectedRows ?? 0) === 0) break;
  }

  await knex.schema.alterTable('user_activity', (t) => {
    t.bigInteger('chain_position').notNullable().alter();
    t.text('prev_hash').notNullable().alter();
    t.text('row_hash').notNullable().alter();
    t.unique(['chain_position'], { indexName: 'user_activity_chain_position_key' });
  });

  await knex.raw(APPEND_ONLY_FUNCTION);
  for (const table of ['user_activity', 'activity_retention']) {
    await knex.raw(`create trigger ${table}_append_only before update or delete on ${table} for each row execute function activity_tracking_append_only()`);
    await knex.raw(`create trigger ${table}_no_truncate before truncate on ${table} for each statement execute function activity_tracking_append_only()`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['user_activity', 'activity_retention']) {
    await knex.raw(`drop trigger if exists ${table}_append_only on ${table}`);
    await knex.raw(`drop trigger if exists ${table}_no_truncate on ${table}`);
  }
  await knex.raw('drop function if exists activity_tracking_append_only()');
  await knex.schema.alterTable('user_activity', (t) => {
    t.dropUnique(['chain_position'], 'user_activity_chain_position_key');
    t.dropColumn('chain_position');
    t.dropColumn('prev_hash');
    t.dropColumn('row_hash');
  });
  await knex.raw('drop function if exists activity_tracking_row_hash(bigint, text, uuid, text, text, text, text, text, text, jsonb, text, text, text, text, jsonb, jsonb, double precision, timestamptz, timestamptz, text, text, text, integer, boolean, integer, integer)');
  await knex.schema.dropTable('activity_retention');
}
