/**
 * `npm run sql:freeze -- <file> <migration>`: writes migrations/sql/<file>.ts, the frozen copy of
 * the SQL the generators here produce (the chain's hash functions and the append function), for
 * the NEXT migration to install. Use it when a change to a generator (or to the columns it reads)
 * makes the equality test in __tests__/schema.test.ts fail:
 *
 *   1. npm run sql:freeze -- chainV4 20261201000000_my_change   (the file name ends in its version)
 *   2. write migrations/20261201000000_my_change.ts: up() installs HASH_FUNCTIONS_V4 and
 *      APPEND_FUNCTION_V4 from ./sql/chainV4 (each statement is one knex.raw), down() reinstalls
 *      the previous frozen copies; add it to migrations/index.ts;
 *   3. point the equality test at the new exports;
 *   4. when the migration ships, delete the UNPUBLISHED line from the frozen file.
 *
 * Re-run it as often as needed until then. It never overwrites a published frozen file (one
 * without the UNPUBLISHED line), and nothing under lib/ imports the generators.
 */
import path from 'node:path';
import { APPEND_FUNCTION } from './appendFunction';
import { HASH_FUNCTIONS } from './chainSql';
import { renderFrozenModule, versionOf, writeFrozenFile } from './frozenFile';

function freeze(args: readonly string[]): void {
  const [name, migration] = args;
  if (!name || !migration || !/^[0-9]{14}_[a-z0-9_]+$/.test(migration)) {
    throw new Error('sql:freeze: usage: npm run sql:freeze -- <file, e.g. chainV4> <migration, e.g. 20261201000000_my_change>');
  }
  const version = versionOf(name);
  const contents = renderFrozenModule(migration, [
    { name: `HASH_FUNCTIONS_${version}`, doc: 'The hash functions (migrations/sql/generator/chainSql.ts).', statements: HASH_FUNCTIONS },
    { name: `APPEND_FUNCTION_${version}`, doc: 'The append function and the session-ending function it calls (migrations/sql/generator/appendFunction.ts).', statements: APPEND_FUNCTION },
  ]);
  // npm runs scripts from the package root; the source tree, not dist/, gets the file.
  const file = writeFrozenFile(path.join(process.cwd(), 'migrations', 'sql'), name, contents);
  process.stdout.write(`Froze the generated SQL into ${path.relative(process.cwd(), file)} for migration ${migration}\n`);
}

try {
  freeze(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
