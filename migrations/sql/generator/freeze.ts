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
 * Name the sets to freeze after the migration (HASH_FUNCTIONS, APPEND_FUNCTION, APPEND_ROWS_FUNCTION)
 * to freeze only those a migration changes; without them, all are frozen.
 *
 * Re-run it as often as needed until then. It never overwrites a published frozen file (one
 * without the UNPUBLISHED line), and nothing under lib/ imports the generators.
 */
import path from 'node:path';
import { APPEND_FUNCTION, APPEND_ROWS_FUNCTION } from './appendFunction';
import { HASH_FUNCTIONS } from './chainSql';
import { renderFrozenModule, versionOf, writeFrozenFile } from './frozenFile';

/** What can be frozen: each generated set of statements, by the name its frozen export takes (plus the version). */
const GENERATED = {
  HASH_FUNCTIONS: { doc: 'The hash functions (migrations/sql/generator/chainSql.ts).', statements: HASH_FUNCTIONS },
  APPEND_FUNCTION: { doc: 'The append function and the session-ending function it calls (migrations/sql/generator/appendFunction.ts).', statements: APPEND_FUNCTION },
  APPEND_ROWS_FUNCTION: { doc: 'The append function for rows the writer hashed, encoding 3 (migrations/sql/generator/appendFunction.ts).', statements: APPEND_ROWS_FUNCTION },
} as const;
type Generated = keyof typeof GENERATED;

function freeze(args: readonly string[]): void {
  const [name, migration, ...only] = args;
  if (!name || !migration || !/^[0-9]{14}_[a-z0-9_]+$/.test(migration)) {
    throw new Error(`sql:freeze: usage: npm run sql:freeze -- <file, e.g. chainV4> <migration, e.g. 20261201000000_my_change> [${Object.keys(GENERATED).join(' ')}] (default: all)`);
  }
  const unknown = only.filter((set) => !Object.hasOwn(GENERATED, set));
  if (unknown.length > 0) throw new Error(`sql:freeze: unknown set ${unknown.join(', ')}; use ${Object.keys(GENERATED).join(', ')}`);
  const sets = (only.length > 0 ? only : Object.keys(GENERATED)) as Generated[];
  const version = versionOf(name);
  const contents = renderFrozenModule(migration, sets.map((set) => ({ name: `${set}_${version}`, ...GENERATED[set] })));
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
