import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Where the built console assets are: dist/lib/console/assets of the package. From dist that is
 * beside this file; from the sources (tests) it is the checkout's dist folder, which
 * `npm run build` and the test setup fill.
 */
export const BUILT_ASSETS_DIR: string = path.basename(path.resolve(__dirname, '..', '..')) === 'dist'
  ? path.join(__dirname, 'assets')
  : path.resolve(__dirname, '..', '..', 'dist', 'lib', 'console', 'assets');

/** The files the console page loads, by the name it loads them by. */
export const CONSOLE_ASSETS = { 'console.js': 'text/javascript; charset=utf-8', 'console.css': 'text/css; charset=utf-8' } as const;
export type ConsoleAssetName = keyof typeof CONSOLE_ASSETS;

export function assetsBuilt(dir: string = BUILT_ASSETS_DIR): boolean {
  return Object.keys(CONSOLE_ASSETS).every((file) => existsSync(path.join(dir, file)));
}
