import type { Knex } from 'knex';

/**
 * Daily (and hourly) rollups for long report periods: per closed UTC day (hour), per pair of tenant columns, the row
 * counts (and failures, duration sums, latest start) of each value the statistics and the
 * compliance report group by. Built from user_activity by the rollups job, never by the append
 * function, so the write path does no more work. activity_summaries is not extended: it is per user
 * (no tenant, so it cannot answer a tenant's report) and the append function maintains it.
 * activity_rollup_days says which days are built and through which chain position: rows stored
 * later for such a day (journal replay, backdated events) are read from user_activity until the
 * job merges them in. Derived data, not the trail: the job replaces it and retention forgets it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('activity_rollup_days', (t) => {
    t.comment('One row per UTC day the rollups job has built into activity_daily_rollups');
    t.date('day').primary().comment('The UTC day (start_time at time zone UTC)');
    t.bigInteger('built_through_position').notNullable().comment('The rollups of the day count exactly its rows with chain_position up to this one; later rows are read from user_activity');
    t.timestamp('built_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now()).comment('When the day was first built');
  });
  await knex.schema.createTable('activity_daily_rollups', (t) => {
    t.comment('Per UTC day, tenant_id and owner_id: row counts per value of each report breakdown (dimension), built by the rollups job');
    t.date('day').notNullable().references('day').inTable('activity_rollup_days').onDelete('CASCADE').comment('The UTC day of the rows counted');
    t.text('tenant_id').nullable().comment('tenant_id of the rows counted');
    t.text('owner_id').nullable().comment('owner_id of the rows counted');
    t.text('dimension').notNullable().comment('What is counted: type, hour, path, user_type, user_session, device, browser, os, country, action, actor_type, failed_ip, failed_user, privileged (lib/store/rollups/dimensions.ts)');
    t.text('key').nullable().comment('The value counted (hour: 0 to 23 as text; user_type and user_session: the user id)');
    t.text('key2').nullable().comment('The second value, for user_type (activity type) and user_session (session id); null otherwise');
    t.bigInteger('count').notNullable().comment('Rows with these values');
    t.bigInteger('errors').notNullable().comment('Of them, rows that did not succeed');
    t.double('duration_sum').nullable().comment('Sum of their durations in milliseconds (null when none has one)');
    t.bigInteger('duration_count').notNullable().comment('Of them, rows with a duration');
    t.timestamp('max_start', { useTz: true, precision: 3 }).notNullable().comment('start_time of the latest of them');
  });
  await knex.schema.createTable('activity_rollup_hours', (t) => {
    t.comment('One row per UTC hour the rollups job has built into activity_hourly_rollups');
    t.timestamp('hour', { useTz: true, precision: 0 }).primary().comment('Start of the UTC hour');
    t.bigInteger('built_through_position').notNullable().comment('The rollups of the hour count exactly its rows with chain_position up to this one; later rows are read from user_activity');
    t.timestamp('built_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now()).comment('When the hour was first built');
  });
  await knex.schema.createTable('activity_hourly_rollups', (t) => {
    t.comment('activity_daily_rollups per UTC hour, without the dimensions user_type and path: the partial days at the edges of a period, and today up to its last closed hour');
    t.timestamp('hour', { useTz: true, precision: 0 }).notNullable().references('hour').inTable('activity_rollup_hours').onDelete('CASCADE').comment('Start of the UTC hour of the rows counted');
    t.text('tenant_id').nullable().comment('tenant_id of the rows counted');
    t.text('owner_id').nullable().comment('owner_id of the rows counted');
    t.text('dimension').notNullable().comment('What is counted, as in activity_daily_rollups');
    t.text('key').nullable().comment('The value counted, as in activity_daily_rollups');
    t.text('key2').nullable().comment('The second value, as in activity_daily_rollups');
    t.bigInteger('count').notNullable().comment('Rows with these values');
    t.bigInteger('errors').notNullable().comment('Of them, rows that did not succeed');
    t.double('duration_sum').nullable().comment('Sum of their durations in milliseconds (null when none has one)');
    t.bigInteger('duration_count').notNullable().comment('Of them, rows with a duration');
    t.timestamp('max_start', { useTz: true, precision: 3 }).notNullable().comment('start_time of the latest of them');
  });
  // Nulls not distinct (PostgreSQL 15): a late row merges into its group whatever columns are null.
  // Led by (dimension, day): a report reads one dimension over a run of days.
  await knex.raw('create unique index activity_daily_rollups_group_key on activity_daily_rollups (dimension, day, tenant_id, owner_id, key, key2) nulls not distinct');
  // GET /me/summary reads one user's groups.
  await knex.raw('create unique index activity_hourly_rollups_group_key on activity_hourly_rollups (dimension, hour, tenant_id, owner_id, key, key2) nulls not distinct');
  await knex.raw(`create index activity_daily_rollups_user_idx on activity_daily_rollups (key, dimension, day) where dimension in ('user_type', 'user_session')`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('activity_hourly_rollups');
  await knex.schema.dropTable('activity_rollup_hours');
  await knex.schema.dropTable('activity_daily_rollups');
  await knex.schema.dropTable('activity_rollup_days');
}
