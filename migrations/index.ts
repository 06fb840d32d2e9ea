import type { Knex } from 'knex';
import * as createActivityTables from './20261123000000_create_activity_tables';
import * as reportIndexes from './20261124000000_report_indexes';
import * as integrity from './20261125000000_integrity';
import * as domainEvents from './20261126000000_domain_events';
import * as riskScores from './20261127000000_risk_scores';
import * as alerts from './20261128000000_alerts';
import * as retentionGuard from './20261129000000_retention_guard';
import * as writerRole from './20261130000000_writer_role';
import * as writerHashes from './20261202000000_writer_hashes';
import * as sortIndexes from './20261203000000_sort_indexes';
import * as timePartitions from './20261208000000_time_partitions';
import * as dailyRollups from './20261209000000_daily_rollups';

/** The package's migrations keep their own table, so they never meet the host app's. */
export const MIGRATIONS_TABLE = 'activity_tracking_migrations';

interface Migration {
  name: string;
  migration: Knex.Migration;
}

/** Static imports rather than a directory scan, so the list is the same from source, from dist and when bundled. */
const MIGRATIONS: readonly Migration[] = [
  { name: '20261123000000_create_activity_tables', migration: createActivityTables },
  { name: '20261124000000_report_indexes', migration: reportIndexes },
  { name: '20261125000000_integrity', migration: integrity },
  { name: '20261126000000_domain_events', migration: domainEvents },
  { name: '20261127000000_risk_scores', migration: riskScores },
  { name: '20261128000000_alerts', migration: alerts },
  { name: '20261129000000_retention_guard', migration: retentionGuard },
  { name: '20261130000000_writer_role', migration: writerRole },
  { name: '20261202000000_writer_hashes', migration: writerHashes },
  { name: '20261203000000_sort_indexes', migration: sortIndexes },
  { name: '20261208000000_time_partitions', migration: timePartitions },
  { name: '20261209000000_daily_rollups', migration: dailyRollups },
];

export const LATEST_MIGRATION = MIGRATIONS[MIGRATIONS.length - 1]?.name ?? '';

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m.migration,
};

export function migrationConfig(schemaName?: string): Knex.MigratorConfig {
  return { migrationSource, tableName: MIGRATIONS_TABLE, ...(schemaName ? { schemaName } : {}) };
}
