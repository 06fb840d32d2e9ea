'use strict';
/**
 * A CommonJS require hook that lets a plain `node` process run the package's TypeScript sources,
 * compiled by @swc/core with the same options jest uses (package.json "jest.transform").
 *
 * Only for the package's own tests, which start child processes (`node -r
 * __tests__/support/register-ts.js __tests__/support/chainWriter.ts ...`) to act as separate
 * application processes: it strips types and nothing else, no type check, no cache.
 * Extension-less imports such as `'../../lib/tracker'` resolve because Node's CommonJS resolver
 * tries every extension registered in `require.extensions`.
 */
const fs = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
    // Stack traces of a failing child then point at the TypeScript lines.
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
