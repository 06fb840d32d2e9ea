import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import type { Request, Response } from 'express';
import { ApiError } from '../router/apiError';
import { BUILT_ASSETS_DIR, CONSOLE_ASSETS, type ConsoleAssetName } from './assetFiles';

interface LoadedAsset { body: Buffer; gzipped: Buffer; etag: string; contentType: string }

/**
 * The console's built script and stylesheet, read and compressed once on first use and served
 * from memory (gzip'd to browsers that take it: 31 KB instead of 94 for the script) with a strong
 * ETag; the page links them with `?v=` and that tag, so a browser caches each build for a year and
 * never uses one of another build.
 */
export class ConsoleAssets {
  private loaded: Map<ConsoleAssetName, LoadedAsset> | null = null;

  constructor(private readonly dir: string = BUILT_ASSETS_DIR) {}

  /** The tag of each asset for the page's links; throws ERR_AT_CONSOLE_NOT_BUILT when they are missing. */
  version(name: ConsoleAssetName): string {
    return this.assets().get(name)?.etag.slice(1, 13) ?? '';
  }

  serve(name: string, req: Request, res: Response): void {
    if (!Object.hasOwn(CONSOLE_ASSETS, name)) throw new ApiError(404, 'ERR_AT_NOT_FOUND', `The console has no asset "${name.slice(0, 64)}"`);
    const asset = this.assets().get(name as ConsoleAssetName) as LoadedAsset;
    res.setHeader('Content-Type', asset.contentType);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('ETag', asset.etag);
    res.setHeader('Cache-Control', req.query['v'] === asset.etag.slice(1, 13) ? 'private, max-age=31536000, immutable' : 'private, no-cache');
    res.setHeader('Vary', 'Accept-Encoding');
    if (req.headers['if-none-match'] === asset.etag) {
      res.status(304).end();
      return;
    }
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      res.setHeader('Content-Encoding', 'gzip');
      res.send(asset.gzipped);
      return;
    }
    res.send(asset.body);
  }

  private assets(): Map<ConsoleAssetName, LoadedAsset> {
    if (this.loaded) return this.loaded;
    const loaded = new Map<ConsoleAssetName, LoadedAsset>();
    for (const [name, contentType] of Object.entries(CONSOLE_ASSETS) as Array<[ConsoleAssetName, string]>) {
      let body: Buffer;
      try {
        body = readFileSync(path.join(this.dir, name));
      } catch {
        throw new ApiError(503, 'ERR_AT_CONSOLE_NOT_BUILT', `The console's assets are not in ${this.dir}; build the package (npm run build) or reinstall it`);
      }
      loaded.set(name, { body, gzipped: gzipSync(body, { level: 9 }), contentType, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"` });
    }
    this.loaded = loaded;
    return loaded;
  }
}
