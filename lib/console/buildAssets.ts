/**
 * Builds the console's browser assets (lib/console/ui) into CONSOLE_ASSETS_DIR: one minified
 * script and one stylesheet, with no external references, so the router serves everything the
 * console needs from the host app's own origin. Runs in `npm run build` and before the tests;
 * esbuild is a development dependency and this file is not shipped (package.json "files").
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BUILT_ASSETS_DIR } from './assetFiles';

const UI_DIR = path.resolve(__dirname, '..', '..', '..', 'lib', 'console', 'ui');

/** What was written, with the gzip size of each file (the README and the issue note quote them). */
export interface BuiltAsset { file: string; bytes: number; gzipBytes: number }

export async function buildConsoleAssets(outDir: string = BUILT_ASSETS_DIR, uiDir: string = sourceUiDir()): Promise<BuiltAsset[]> {
  mkdirSync(outDir, { recursive: true, mode: 0o755 });
  await build({
    entryPoints: [path.join(uiDir, 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'eof',
    outfile: path.join(outDir, 'console.js'),
    logLevel: 'warning',
  });
  await build({
    entryPoints: [path.join(uiDir, 'console.css')],
    bundle: true,
    minify: true,
    outfile: path.join(outDir, 'console.css'),
    logLevel: 'warning',
  });
  return ['console.js', 'console.css'].map((file) => {
    const content = readFileSync(path.join(outDir, file));
    return { file, bytes: content.length, gzipBytes: gzipSync(content, { level: 9 }).length };
  });
}

/** The UI sources: beside this file when run from source, in lib/console/ui of the checkout when run from dist. */
function sourceUiDir(): string {
  const beside = path.join(__dirname, 'ui');
  return beside.includes(`${path.sep}dist${path.sep}`) ? UI_DIR : beside;
}

if (require.main === module) {
  buildConsoleAssets().then((assets) => {
    for (const asset of assets) process.stdout.write(`console asset ${asset.file}: ${asset.bytes} bytes, ${asset.gzipBytes} gzip\n`);
    writeFileSync(path.join(BUILT_ASSETS_DIR, 'sizes.json'), `${JSON.stringify(assets)}\n`);
  }).catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exitCode = 1;
  });
}
