import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { migrate } from '../../lib/store/schema';
import { buildConsoleAssets } from '../../lib/console/buildAssets';

/**
 * A fresh embedded database costs about 5 s and 700 MB to create; a migrated one is created once,
 * dumped, and every test file loads the dump (under a second). The dump is keyed by the migrations'
 * content, so a changed migration makes a new one.
 */
export default async function globalSetup(): Promise<void> {
  const dumpDir = os.tmpdir();
  // Every temporary folder a test, a tracker or a child process makes lands under one folder of this
  // run (the workers inherit TMPDIR), and globalTeardown removes it whatever the tests left behind.
  process.env['ACTIVITY_TEST_TMP'] = mkdtempSync(path.join(dumpDir, 'activity-tests-'));
  process.env['TMPDIR'] = process.env['ACTIVITY_TEST_TMP'];
  // The console's page loads its built script and stylesheet; built from the sources each run (a
  // fraction of a second), so the browser tests see the UI as it is in the checkout.
  // A build error fails the console's tests (its page answers 503), not every test.
  await buildConsoleAssets().catch((error: unknown) => { process.stderr.write(`The console's assets did not build: ${String(error)}\n`); });
  if (process.env['DATABASE_URL']) return;
  const migrationsDir = path.join(__dirname, '..', '..', 'migrations');
  const hash = createHash('sha256');
  for (const file of (readdirSync(migrationsDir, { recursive: true }) as string[]).sort()) {
    const full = path.join(migrationsDir, file);
    if (statSync(full).isFile()) hash.update(file).update(readFileSync(full));
  }
  const dumpPath = path.join(dumpDir, `express-activity-tracking-pglite-${hash.digest('hex').slice(0, 16)}.tar`);
  process.env['ACTIVITY_TEST_PGLITE_DUMP'] = dumpPath;
  if (existsSync(dumpPath)) {
    // Marks it in use, so another checkout's run does not take it for an old one (removeOldDumps).
    const now = new Date();
    utimesSync(dumpPath, now, now);
    return;
  }

  const pglite = new PGlite();
  const db = knex({ client: ClientPgLite, dialect: 'postgres', connection: () => ({ pglite }) } as never);
  await migrate(db);
  const dump = await pglite.dumpDataDir('none');
  const temporary = `${dumpPath}.${process.pid}`;
  writeFileSync(temporary, Buffer.from(await dump.arrayBuffer()), { mode: 0o600 });
  renameSync(temporary, dumpPath);
  await db.destroy();
  removeOldDumps(dumpDir, dumpPath);
}

/**
 * Dumps of earlier migrations (40 MB each) would pile up in the temp folder as migrations change.
 * One not touched for an hour is no other run's to load any more.
 */
function removeOldDumps(dumpDir: string, keep: string): void {
  for (const name of readdirSync(dumpDir)) {
    const file = path.join(dumpDir, name);
    if (file === keep || !/^express-activity-tracking-pglite-[0-9a-f]{16}\.tar$/.test(name)) continue;
    try {
      if (Date.now() - statSync(file).mtimeMs > 3_600_000) unlinkSync(file);
    } catch {
      // Removed by another run meanwhile.
    }
  }
}
