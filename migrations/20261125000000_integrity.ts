import type { Knex } from 'knex';
import { GENESIS_HASH } from '../lib/integrity/encoding';
// Frozen: later encodings or append functions come as new migrations, so this one installs the same SQL forever.
import { APPEND_FUNCTION_V1 as APPEND_FUNCTION, chainRowsSqlV1 as chainRowsSql, CONTENT_COLUMNS_V1 as CONTENT_COLUMNS, HASH_FUNCTIONS_V1 as HASH_FUNCTIONS } from './sql/integrityV1';

/**
 * The tamper-evident trail: every user_activity row gets a gapless chain position, the previous
 * row's hash and its own hash, computed by `activity_tracking_row_hash` (below) from the row's
 * recorded content; the table refuses UPDATE, DELETE and TRUNCATE, except deletes of rows a
 * retention record in `activity_retention` already covers.
 */

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
  for (const statement of HASH_FUNCTIONS) await knex.raw(statement);

  // Rows stored before this migration join the chain in the order they were stored, 1000 at a time.
  for (;;) {
    const head = (await knex.raw(`select chain_position, row_hash from user_activity where chain_position is not null order by chain_position desc limit 1`)) as { rows: Array<{ chain_position: unknown; row_hash: string }> };
    const position = Number(head.rows[0]?.chain_position ?? 0);
    const hash = head.rows[0]?.row_hash ?? GENESIS_HASH;
    if (!Number.isSafeInteger(position) || !/^[0-9a-f]{64}$/.test(hash)) throw new Error(`unexpected chain head ${position} ${hash}`);
    const batch = `(select ${CONTENT_COLUMNS}, row_number() over (order by created_at, start_time, id) as k
       from (select * from user_activity where chain_position is null order by created_at, start_time, id limit 1000) u)`;
    const result = (await knex.raw(`update user_activity t set chain_position = c.position, prev_hash = c.prev_hash, row_hash = c.row_hash
       from (${chainRowsSql(batch, `${position}::bigint`, `'${hash}'::text`)}) c where t.id = c.id`)) as { rowCount?: number; affectedRows?: number };
    if (Number(result.rowCount ?? result.affectedRows ?? 0) === 0) break;
  }

  await knex.schema.alterTable('user_activity', (t) => {
    t.bigInteger('chain_position').notNullable().alter();
    t.text('prev_hash').notNullable().alter();
    t.text('row_hash').notNullable().alter();
    t.unique(['chain_position'], { indexName: 'user_activity_chain_position_key' });
  });

  await knex.raw(APPEND_ONLY_FUNCTION);
  // The two call each other: the first is created with a body that only parses, then both for real.
  await knex.raw(`create or replace function activity_tracking_append(p_rows jsonb, p_session_events boolean default true) returns void language plpgsql as $$ begin end $$`);
  for (const statement of APPEND_FUNCTION) await knex.raw(statement);
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
  await knex.raw('drop function if exists activity_tracking_end_sessions(jsonb, text)');
  await knex.raw('drop function if exists activity_tracking_append(jsonb, boolean)');
  await knex.raw('drop aggregate if exists activity_tracking_chain(text, text)');
  await knex.raw('drop function if exists activity_tracking_chain_step(text, text, text)');
  await knex.raw('drop function if exists activity_tracking_row_hash(bigint, text, uuid, text, text, text, text, text, text, jsonb, text, text, text, text, jsonb, jsonb, double precision, timestamptz, timestamptz, text, text, text, integer, boolean, integer, integer)');
  await knex.raw('drop function if exists activity_tracking_content_hash(bigint, uuid, text, text, text, text, text, text, jsonb, text, text, text, text, jsonb, jsonb, double precision, timestamptz, timestamptz, text, text, text, integer, boolean, integer, integer)');
  await knex.raw('drop function if exists activity_tracking_link(text, text)');
  await knex.schema.dropTable('activity_retention');
}
