import type { Knex } from 'knex';
// Frozen: later changes come as new migrations, so this one installs the same SQL forever.
import { APPEND_HEAD_FUNCTION_V1, DEFINER_FUNCTIONS_V1, definerStatementsV1, REMOVE_PREFIX_FUNCTION_V1, SIGNATURES_APPEND_ONLY_FUNCTION_V1 } from './sql/writerRoleV1';

/**
 * Two roles and signed batches. The append functions run as the migration owner (SECURITY
 * DEFINER, search path pinned), so the app can connect as a writer role that owns nothing and may
 * not insert, change or delete trail rows, replace a function or disable a trigger
 * (`activity-tracking grant --role NAME` gives it what it needs). activity_chain_signatures keeps
 * the writer's signature of each batch's last row, made with a key the database never sees.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('activity_chain_signatures', (t) => {
    t.comment('One row per batch appended by a writer holding the signing key: its signature of the positions of the batch and the hash of its last row; append-only.');
    t.bigInteger('first_position').notNullable().comment('Chain position of the batch\'s first row');
    t.bigInteger('position').notNullable().comment('Chain position of the batch\'s last row');
    t.text('row_hash').notNullable().comment('row_hash of that row when it was signed');
    t.text('algorithm').notNullable().comment('HMAC-SHA256 or Ed25519');
    t.text('key_id').notNullable().comment('Which key signed: a fingerprint, never the key');
    t.text('signature').notNullable().comment('base64url signature of "activity-tracking-batch:v1:<first_position>:<position>:<row_hash>"');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now()).comment('When it was signed');
    // Not the position alone: a row inserted there first by someone without the key must not keep the writer's out.
    t.primary(['position', 'signature'], { constraintName: 'activity_chain_signatures_pkey' });
  });
  await knex.raw(SIGNATURES_APPEND_ONLY_FUNCTION_V1);
  await knex.raw('create trigger activity_chain_signatures_append_only before update or delete on activity_chain_signatures for each row execute function activity_tracking_signatures_append_only()');
  await knex.raw('create trigger activity_chain_signatures_no_truncate before truncate on activity_chain_signatures for each statement execute function activity_tracking_signatures_append_only()');
  await knex.raw(APPEND_HEAD_FUNCTION_V1);
  await knex.raw(REMOVE_PREFIX_FUNCTION_V1);
  // The schema the tables were just created in, where the functions must find them whoever calls.
  const found = (await knex.raw('select quote_ident(current_schema()) as schema')) as { rows: Array<{ schema: string }> };
  const schema = found.rows[0]?.schema;
  if (!schema) throw new Error('activity_tracking: no current schema to pin the functions\' search path to; set search_path before migrating');
  for (const statement of definerStatementsV1(schema)) await knex.raw(statement);
}

export async function down(knex: Knex): Promise<void> {
  for (const fn of DEFINER_FUNCTIONS_V1.slice(0, 2)) {
    await knex.raw(`alter function ${fn} security invoker reset search_path`);
    await knex.raw(`grant execute on function ${fn} to public`);
  }
  await knex.raw('drop function if exists activity_tracking_append_head(jsonb, boolean, jsonb)');
  await knex.raw('drop function if exists activity_tracking_remove_prefix(bigint, bigint)');
  await knex.schema.dropTable('activity_chain_signatures');
  await knex.raw('drop function if exists activity_tracking_signatures_append_only()');
}
