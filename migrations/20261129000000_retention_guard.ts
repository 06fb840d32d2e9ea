import type { Knex } from 'knex';
// Frozen: a later change to the trigger comes as a new migration.
import { APPEND_ONLY_FUNCTION_V1, APPEND_ONLY_FUNCTION_V2, RETENTION_RECORD_INDEX_V1 } from './sql/retentionGuard';

/**
 * Retention guarded by the chain: a user_activity row may be deleted only when a retention.removed
 * record that covers it is already chained at a later position, and only as a prefix of the chain.
 * A row in activity_retention no longer lets anything go, so inserting one (which any role that can
 * write that table could do) deletes nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(RETENTION_RECORD_INDEX_V1);
  await knex.raw(APPEND_ONLY_FUNCTION_V2);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(APPEND_ONLY_FUNCTION_V1);
  await knex.raw('drop index if exists user_activity_retention_records');
}
