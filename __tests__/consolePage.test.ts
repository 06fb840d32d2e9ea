/** The console's page and its two assets, as the router serves them (consolePage.ts, consoleAssets.ts). */
import request from 'supertest';
import { EXPRESS_VERSIONS, testTracker } from './support/app';
import { openTestDatabase, type TestDatabase } from './support/database';
import { MOUNT, REPORT_SECRET, reportApp } from './support/reports';
import type { ActivityTracker } from '../lib/tracker';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });

describe.each(EXPRESS_VERSIONS)('the console page and assets (%s)', (_name, express) => {
  let tracker: ActivityTracker;
  beforeEach(() => { tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET }); });
  afterEach(async () => { await tracker.close(); });

  it('serves an empty shell under every view with its own strict policy, and no data of the trail', async () => {
    const app = reportApp(express, tracker);
    for (const path of ['/console', '/console/explorer', '/console/me']) {
      const page = await request(app).get(`${MOUNT}${path}`).expect(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");
      expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(page.headers['x-frame-options']).toBe('DENY');
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.text).toContain(`data-base="${MOUNT}" data-auth="bearer"`);
      expect(page.text).toMatch(new RegExp(`<script src="${MOUNT}/console/assets/console\\.js\\?v=[0-9a-f]{12}" defer></script>`));
      expect(page.text).not.toMatch(/<script>|<style>|style=|onload=/);
      // No request for /favicon.ico of the host app on every visit.
      expect(page.text).toContain('<link rel="icon" href="data:,">');
    }
    const missing = await request(app).get(`${MOUNT}/console/nothing`).expect(404);
    expect(missing.body.error.message).toMatch(/its views are overview, explorer/);
  });

  it('serves its script and stylesheet from memory with a tag, cached for a year only under that tag', async () => {
    const app = reportApp(express, tracker);
    const page = await request(app).get(`${MOUNT}/console`).expect(200);
    const script = /src="([^"]+)"/.exec(page.text)?.[1] as string;
    const first = await request(app).get(script).expect(200);
    expect(first.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(first.headers['x-content-type-options']).toBe('nosniff');
    expect(first.headers['cache-control']).toBe('private, max-age=31536000, immutable');
    expect(first.text.length).toBeGreaterThan(1000);
    await request(app).get(script).set('If-None-Match', first.headers['etag'] as string).expect(304);
    // Compressed for a browser that takes gzip (supertest unzips it): a third of the size on the wire.
    const zipped = await request(app).get(script).set('Accept-Encoding', 'gzip, deflate, br').expect(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(Number(zipped.headers['content-length'])).toBeLessThan(first.text.length / 2);
    expect(zipped.text).toBe(first.text);
    expect(first.headers['vary']).toBe('Accept-Encoding');
    const untagged = await request(app).get(`${MOUNT}/console/assets/console.css`).expect(200);
    expect(untagged.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(untagged.headers['cache-control']).toBe('private, no-cache');
    await request(app).get(`${MOUNT}/console/assets/..%2Fpackage.json`).expect(404);
    await request(app).get(`${MOUNT}/console/assets/other.js`).expect(404);
  });
});

