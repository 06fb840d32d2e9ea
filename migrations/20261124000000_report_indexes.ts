import type { Knex } from 'knex';

/**
 * Indexes the report routes need beyond the first migration: sorting activities by duration
 * (`/activities?orderBy=duration`) and counting the sessions started in a period
 * (`/compliance-report`) would otherwise read whole tables.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_activity', (t) => {
    t.index(['duration'], 'user_activity_duration_idx');
    t.text('activity_type').notNullable().comment('What happened, from the product vocabulary: login, logout, login_failed, token_refresh, page_view, data_create, data_update, data_delete, data_view, file_upload, file_download, error, system_action, session_start, session_end, authz_fail (a report route refused the caller), audit_read and audit_export (the trail itself was read or exported)').alter();
  });
  await knex.schema.alterTable('activity_sessions', (t) => {
    t.index(['start_time'], 'activity_sessions_start_time_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('activity_sessions', (t) => {
    t.dropIndex(['start_time'], 'activity_sessions_start_time_idx');
  });
  await knex.schema.alterTable('user_activity', (t) => {
    t.dropIndex(['duration'], 'user_activity_duration_idx');
  });
}
