/** What a browser downloads for the console: each built asset, raw and compressed. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { assetsBuilt, BUILT_ASSETS_DIR, CONSOLE_ASSETS } from '../lib/console/assetFiles';

export interface AssetSize {
  file: string;
  raw: number;
  gzip: number;
  brotli: number;
}

/** Throws when the assets were not built, since the console page then has nothing to load. */
export function consoleAssetSizes(dir: string = BUILT_ASSETS_DIR): AssetSize[] {
  if (!assetsBuilt(dir)) {
    throw new Error(`ERR_AT_BENCH_CONSOLE_NOT_BUILT: the console's assets are missing from ${dir}; run \`npm run build\` first (it bundles lib/console/ui)`);
  }
  return Object.keys(CONSOLE_ASSETS).map((file) => {
    const body = readFileSync(path.join(dir, file));
    return {
      file,
      raw: body.length,
      // zlib's default level, as the usual compression middleware sends it.
      gzip: gzipSync(body).length,
      brotli: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    };
  });
}
