import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { migrate } from '../../lib/store/schema';

/**
 * A fresh embedded database costs about 5 s and 700 MB to create; a migrated one is created once,
 * dumped, and every test file loads the dump (under a second). The dump is keyed by the migrations'
 * content, so a changed migration makes a new one.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env['DATABASE_URL']) return;
  const migrationsDir = path.join(__dirname, '..', '..', 'migrations');
  const hash = createHash('sha256');
  for (const file of (readdirSync(migrationsDir, { recursive: true }) as string[]).sort()) {
    const full = path.join(migrationsDir, file);
    if (statSync(full).isFile()) hash.update(file).update(readFileSync(full));
  }
  const dumpPath = path.join(os.tmpdir(), `express-activity-tracking-pglite-${hash.digest('hex').slice(0, 16)}.tar`);
  process.env['ACTIVITY_TEST_PGLITE_DUMP'] = dumpPath;
  if (existsSync(dumpPath)) return;

  const pglite = new PGlite();
  const db = knex({ client: ClientPgLite, dialect: 'postgres', connection: () => ({ pglite }) } as never);
  await migrate(db);
  const dump = await pglite.dumpDataDir('none');
  const temporary = `${dumpPath}.${process.pid}`;
  writeFileSync(temporary, Buffer.from(await dump.arrayBuffer()));
  renameSync(temporary, dumpPath);
  await db.destroy();
}
