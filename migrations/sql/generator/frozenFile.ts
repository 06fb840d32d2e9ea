import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Writing the frozen copy of the generated SQL for the next migration. A file this writes carries
 * UNPUBLISHED_MARK until its migration ships; a file without it (every published one) is never
 * overwritten, so a published migration keeps installing the same SQL forever.
 */
export const UNPUBLISHED_MARK = 'UNPUBLISHED: written by `npm run sql:freeze`; delete this line when its migration ships.';

export interface FrozenExport {
  name: string;
  doc: string;
  statements: readonly string[];
}

/** A template literal holding `text` exactly. */
function templateLiteral(text: string): string {
  const escaped = text.split('\\').join('\\\\').split('`').join('\\`').split('${').join('\\${');
  return ['`', escaped, '`'].join('');
}

/** The TypeScript module that exports each statement list as the published frozen files do. */
export function renderFrozenModule(migration: string, lists: readonly FrozenExport[]): string {
  const header = [
    '/**',
    ` * The SQL migration ${migration} installs, frozen. Later changes ship as new migrations; once that`,
    ' * migration is published this file never changes.',
    ` * ${UNPUBLISHED_MARK}`,
    ' */',
  ];
  const bodies = lists.map(({ name, doc, statements }) => [
    `/** ${doc} */`,
    `export const ${name}: readonly string[] = [`,
    ...statements.map((statement) => `${templateLiteral(statement)},`),
    '];',
  ].join('\n'));
  return [header.join('\n'), ...bodies].join('\n\n') + '\n';
}

/** `name` is a file name under `dir` without .ts, ending in its version (e.g. chainV4), which suffixes every export. */
export function versionOf(name: string): string {
  const version = /^[a-z][A-Za-z0-9]*(V[0-9]+)$/.exec(name)?.[1];
  if (!version) throw new Error(`sql:freeze: "${name}" is not a frozen file name. Fix: pass a camelCase name ending in its version, e.g. chainV4`);
  return version;
}

/** Writes `dir/name.ts`, refusing a file that was published (one without UNPUBLISHED_MARK). Returns the path. */
export function writeFrozenFile(dir: string, name: string, contents: string): string {
  versionOf(name);
  const file = path.join(dir, `${name}.ts`);
  if (existsSync(file) && !readFileSync(file, 'utf8').includes(UNPUBLISHED_MARK)) {
    throw new Error(`sql:freeze: ${file} is a published migration's frozen SQL and never changes. Fix: freeze into a new file for the next migration, e.g. ${name.replace(/[0-9]+$/, (n) => String(Number(n) + 1))}`);
  }
  writeFileSync(file, contents);
  return file;
}
