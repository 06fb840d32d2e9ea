import path from 'node:path';
import type { Knex } from 'knex';
import { migrationConfig } from './migrations';

/**
 * For working on the package itself (`npx knex --knexfile knexfile.ts migrate:latest`): the embedded
 * database under ACTIVITY_DATA_DIR unless DATABASE_URL names a server. Users run
 * `activity-tracking migrate` instead.
 */
const url = process.env['DATABASE_URL'];
const config: Knex.Config = url
  ? { client: 'pg', connection: url, migrations: migrationConfig() }
  : {
      client: require('knex-pglite') as typeof Knex.Client,
      dialect: 'postgres',
      connection: { filename: path.resolve(process.env['ACTIVITY_DATA_DIR'] || './.activity-data') },
      migrations: migrationConfig(),
    } as Knex.Config;

export default config;
