#!/usr/bin/env node
import { resolveConfig } from '../config';
import { openDatabase } from '../store/database';
import { migrate } from '../store/schema';

const USAGE = `Usage: activity-tracking <command>

Commands:
  migrate   Create or update the activity tracking tables.
            Uses DATABASE_URL, or the embedded database under ACTIVITY_DATA_DIR (default ./.activity-data).
  help      Show this text.
`;

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'migrate':
      return runMigrate(out);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      out.write(`Unknown command "${command}".\n\n${USAGE}`);
      return 1;
  }
}

async function runMigrate(out: NodeJS.WritableStream): Promise<number> {
  const config = resolveConfig({});
  const database = openDatabase(config.database, config.logger);
  try {
    const { applied } = await migrate(database.knex);
    const where = database.kind === 'embedded' ? `the embedded database (${config.database.kind === 'embedded' ? config.database.dataDir : ''})` : 'PostgreSQL';
    out.write(applied.length === 0
      ? `Activity tracking tables in ${where} are up to date.\n`
      : `Applied ${applied.length} migration(s) to ${where}: ${applied.join(', ')}\n`);
    return 0;
  } finally {
    await database.knex.destroy();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (error: unknown) => {
      process.stderr.write(`activity-tracking: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
