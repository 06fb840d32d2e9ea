import type { Knex } from 'knex';
import { ActivityTrackingError } from '../errors';
import { ensurePartitions, type PartitionInterval } from './partitions/partitions';
import { PARTITION_DEFAULTS } from '../jobs/options';
import { LATEST_MIGRATION, MIGRATIONS_TABLE, migrationConfig } from '../../migrations';

/**
 * Creates or updates the package's tables, then the partitions of user_activity up to `ahead`
 * periods from now. Safe to run again: applied migrations are skipped, existing partitions kept.
 */
export async function migrate(knex: Knex, partitions: { interval: PartitionInterval; ahead: number } = PARTITION_DEFAULTS): Promise<{ applied: string[]; partitionsCreated: string[] }> {
  const [, applied] = (await knex.migrate.latest(migrationConfig())) as [number, string[]];
  const partitionsCreated = await ensurePartitions(knex, partitions);
  return { applied, partitionsCreated };
}

/**
 * On a PostgreSQL server the package never changes the schema unless told; it checks, and names
 * the command that fixes what is missing.
 */
export async function assertSchemaCurrent(knex: Knex): Promise<void> {
  const hasTable = await knex.schema.hasTable(MIGRATIONS_TABLE);
  const fix = 'run `npx activity-tracking migrate` with DATABASE_URL set, or pass `autoMigrate: true`';
  if (!hasTable) {
    throw new ActivityTrackingError('ERR_AT_SCHEMA_MISSING', `The activity tracking tables do not exist in this database. Fix: ${fix}`);
  }
  const rows = (await knex(MIGRATIONS_TABLE).select('name')) as Array<{ name: string }>;
  if (!rows.some((row) => row.name === LATEST_MIGRATION)) {
    throw new ActivityTrackingError('ERR_AT_SCHEMA_BEHIND',
      `The activity tracking tables are behind this version of the package (missing migration ${LATEST_MIGRATION}). Fix: ${fix}`);
  }
}
