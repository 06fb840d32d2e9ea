import type { Knex } from 'knex';
// Frozen: later changes come as new migrations, so this one installs the same SQL forever.
import { APPEND_ROWS_FUNCTION_V4 } from './sql/appendRowsV4';

const APPEND_ROWS = 'activity_tracking_append_rows(jsonb, boolean, jsonb)';

/**
 * Chain encoding 3 (lib/integrity/encodingV3.ts): the writer hashes each row's content before it
 * sends it, and activity_tracking_append_rows only links the rows under the chain lock, reading
 * each row as a JSON array by index. user_activity.hash_version tells the verifier which encoding
 * a row was hashed with. Rows already stored, and rows the database adds itself (session events,
 * retention records), keep encodings 1 and 2.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_activity', (t) => {
    t.smallint('hash_version').nullable().comment('The chain encoding the row was hashed with: 3 when the writer hashed its content (lib/integrity/encodingV3.ts); NULL for encodings 1 and 2, told apart by their values');
  });
  for (const statement of APPEND_ROWS_FUNCTION_V4) await knex.raw(statement);
  // Like the other append functions (migration 20261130000000_writer_role): run as the owner, search path pinned, granted by name.
  const found = (await knex.raw('select quote_ident(current_schema()) as schema')) as { rows: Array<{ schema: string }> };
  const schema = found.rows[0]?.schema;
  if (!schema) throw new Error('activity_tracking: no current schema to pin the function\'s search path to; set search_path before migrating');
  await knex.raw(`alter function ${APPEND_ROWS} security definer set search_path = ${schema}, pg_temp`);
  await knex.raw(`revoke execute on function ${APPEND_ROWS} from public`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop function if exists ${APPEND_ROWS}`);
  await knex.schema.alterTable('user_activity', (t) => {
    t.dropColumn('hash_version');
  });
}
