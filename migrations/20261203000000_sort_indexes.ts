import type { Knex } from 'knex';

/**
 * The index for `/activities?orderBy=createdAt`, so a page is read from an index rather than
 * sorting every row. No tenant variant: a tenant's scope is `tenant_id = ? or owner_id = ?`, which
 * no (tenant_id, …) index hands over in order; PostgreSQL walks this index and skips the other
 * tenants' rows, as it does user_activity_start_time_idx for the default sort.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index user_activity_created_at_idx on user_activity (created_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists user_activity_created_at_idx');
}
