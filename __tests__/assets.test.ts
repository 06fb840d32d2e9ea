import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Express } from 'express';
import { EXPRESS_VERSIONS, storedActivities, testTracker, type ExpressFactory } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { bearer, MOUNT, REPORT_SECRET } from './support/reports';
import type { ActivityTracker } from '../lib/tracker';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

let db: TestDatabase;
let publicDir: string;
beforeAll(async () => {
  db = await openTestDatabase();
  publicDir = mkdtempSync(path.join(process.env['ACTIVITY_TEST_TMP'] ?? os.tmpdir(), 'public-'));
  writeFileSync(path.join(publicDir, 'site.css'), 'body { color: black }\n'.repeat(200));
  writeFileSync(path.join(publicDir, 'welcome.html'), '<h1>Welcome</h1>');
  writeFileSync(path.join(publicDir, 'robots.txt'), 'User-agent: *\n');
});
afterAll(async () => {
  await db.destroy();
  rmSync(publicDir, { recursive: true, force: true });
});

/** A site as a browser meets it: static files, a page, and no favicon. */
function site(express: ExpressFactory, tracker: ActivityTracker): Express {
  const app = express();
  app.use(tracker.middleware());
  app.use(express.static(publicDir));
  app.get('/dashboard', (_req, res) => { res.type('html').send('<h1>Dashboard</h1>'); });
  app.get('/missing-page', (_req, res) => { res.status(404).type('html').send('<h1>Not here</h1>'); });
  app.use(MOUNT, tracker.router());
  return app;
}

describe.each(EXPRESS_VERSIONS)('browser housekeeping and static files on %s', (_name, express) => {
  let tracker: ActivityTracker;
  let app: Express;
  beforeEach(async () => {
    await resetTables(db.knex);
    // Any response over 1 KB is "large": the stylesheet would be listed were assets not left out.
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, suspicious: { largeResponseBytes: 1024 } });
    app = site(express, tracker);
  });
  afterEach(async () => { await tracker.close(); });

  async function visit(): Promise<void> {
    const agent = request.agent(app);
    await agent.get('/dashboard').set('User-Agent', CHROME).set('Accept', 'text/html').expect(200);
    await agent.get('/favicon.ico').set('User-Agent', CHROME).expect(404);
    await agent.get('/apple-touch-icon-precomposed.png').set('User-Agent', CHROME).expect(404);
    await agent.get('/site.css').set('User-Agent', CHROME).expect(200);
    await agent.get('/robots.txt').set('User-Agent', CHROME).expect(200);
    await agent.get('/.well-known/security.txt').set('User-Agent', CHROME).expect(404);
    await agent.get('/welcome.html').set('User-Agent', CHROME).set('Accept', 'text/html').expect(200);
    await agent.get('/missing-page').set('User-Agent', CHROME).set('Accept', 'text/html').expect(404);
    await tracker.flush();
  }

  it('records favicon, touch icon, robots.txt, /.well-known/ and static files as asset, and pages as page_view', async () => {
    await visit();
    const rows = await storedActivities(db.knex);
    const typeOf = Object.fromEntries(rows.map((r) => [r.path, r.activity_type]));
    expect(typeOf).toEqual({
      '/dashboard': 'page_view',
      '/favicon.ico': 'asset',
      '/apple-touch-icon-precomposed.png': 'asset',
      '/site.css': 'asset',
      '/robots.txt': 'asset',
      '/.well-known/security.txt': 'asset',
      // A static HTML file is a page; a page route's 404 is still a failed page view.
      '/welcome.html': 'page_view',
      '/missing-page': 'page_view',
    });
    // Every request is still in the trail, with its outcome.
    expect(rows.find((r) => r.path === '/favicon.ico')).toMatchObject({ status_code: 404, success: false, action: 'read' });
  });

  it('GET /stats and the compliance error rate leave asset requests out, unless activityType names them', async () => {
    await visit();
    // Three pages (one of them a 404) and the session's start; none of the five assets. Read before
    // the report, whose own audit row may be written while the test still runs.
    const counted = await storedActivities(db.knex, { sessionEvents: true });
    const stats = await request(app).get(`${MOUNT}/stats?startDate=2020-01-01`).set(bearer('root', 'admin')).expect(200);
    expect(counted.filter((r) => r.activity_type !== 'asset').map((r) => r.activity_type).sort()).toEqual(['page_view', 'page_view', 'page_view', 'session_start']);
    expect(stats.body.data.totalActivities).toBe(4);
    expect(stats.body.data.errorRate).toBeCloseTo(1 / 4, 5);
    expect(stats.body.data.byType.map((t: { activityType: string }) => t.activityType)).not.toContain('asset');
    const assets = await request(app).get(`${MOUNT}/stats?startDate=2020-01-01&activityType=asset`).set(bearer('root', 'admin')).expect(200);
    expect(assets.body.data.totalActivities).toBe(5);
    const report = await request(app).get(`${MOUNT}/compliance-report`).set(bearer('root', 'admin')).expect(200);
    // The only failure that is not an asset is the missing page; the report routes' own reads succeed.
    const nonAssets = report.body.data.activityByType.filter((t: { activityType: string }) => t.activityType !== 'asset').reduce((sum: number, t: { count: number }) => sum + t.count, 0);
    expect(report.body.data.errorRate).toBeCloseTo(1 / nonAssets, 5);
    expect(report.body.data.activityByType).toContainEqual({ activityType: 'asset', count: 5 });
  });

  it('GET /suspicious does not list a large static file', async () => {
    await visit();
    const found = await request(app).get(`${MOUNT}/suspicious?startDate=2020-01-01`).set(bearer('root', 'admin')).expect(200);
    const paths = found.body.data.map((item: { path: string }) => item.path);
    expect(paths).not.toContain('/site.css');
    expect(paths).not.toContain('/favicon.ico');
  });
});
