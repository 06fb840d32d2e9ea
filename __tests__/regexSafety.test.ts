import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { checkSync, type Diagnostics } from 'recheck';
import ts from 'typescript';

/**
 * Every regular expression the package defines, read from its source, so that a pattern added
 * later is checked without anyone listing it here. A pattern built at run time (new RegExp of
 * something other than a literal) cannot be checked, so it fails this test until it is one.
 */
const ROOTS = ['lib', 'middleware'].map((dir) => path.join(__dirname, '..', dir));

interface Found {
  where: string;
  source: string;
  flags: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function regexesIn(file: string): { found: Found[]; dynamic: string[] } {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: Found[] = [];
  const dynamic: string[] = [];
  const where = (node: ts.Node) => `${path.relative(path.join(__dirname, '..'), file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const visit = (node: ts.Node): void => {
    if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
      const literal = node.getText();
      const slash = literal.lastIndexOf('/');
      found.push({ where: where(node), source: literal.slice(1, slash), flags: literal.slice(slash + 1) });
    } else if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp') {
      const [pattern, flags] = node.arguments ?? [];
      if (pattern && ts.isStringLiteralLike(pattern) && (!flags || ts.isStringLiteralLike(flags))) {
        found.push({ where: where(node), source: pattern.text, flags: flags && ts.isStringLiteralLike(flags) ? flags.text : '' });
      } else {
        dynamic.push(where(node));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { found, dynamic };
}

const all = ROOTS.flatMap(sourceFiles).map(regexesIn);
const regexes = all.flatMap((r) => r.found);

describe('every regular expression in the package runs in linear time', () => {
  it('finds the package\'s patterns, and none built at run time', () => {
    expect(regexes.length).toBeGreaterThan(30);
    expect(all.flatMap((r) => r.dynamic)).toEqual([]);
  });

  // recheck proves the absence of super-linear backtracking for a whole exec(), the search for a
  // start position included (an unanchored /a*b/ is quadratic and is reported as such). Its
  // automaton checker gives a proof; the fuzzing one, which 'auto' picks for patterns with large
  // counted repetitions, would only fail to find an attack.
  it.each(regexes.map((r) => [`${r.where} /${r.source}/${r.flags}`, r] as const))('%s', (_label, { source, flags }) => {
    const result: Diagnostics = checkSync(source, flags, { checker: 'automaton', timeout: 100_000 });
    const summary = {
      status: result.status,
      complexity: result.status === 'safe' || result.status === 'vulnerable' ? result.complexity.type : result.error.kind,
      ...(result.status === 'vulnerable' ? { attack: result.attack.pattern } : {}),
    };
    expect(summary).toEqual({ status: 'safe', complexity: expect.stringMatching(/^(constant|linear|safe)$/) });
  }, 120_000); // recheck's native binary takes up to ~6 s for one pattern here; its pure-JS fallback ~20 s
});
