/**
 * The example app in Chromium, as a new user meets it: a page, a wrong password, the right one, the
 * dashboard, logout; then another user on the same browser. One visit is one session, Chrome's own
 * favicon request is an asset, and the second user's visit is a session of its own.
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { createExampleApp, EXAMPLE_TRACKER_OPTIONS } from '../example-app/app';
import { memoryLogger, storedActivities, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import type { ActivityTracker } from '../lib/tracker';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
// npm test passes on a machine without Chromium; .ci/run installs it, so CI always runs these.
const inChromium = existsSync(CHROMIUM) ? describe : describe.skip;

let db: TestDatabase;
let browser: Browser | undefined;
beforeAll(async () => {
  db = await openTestDatabase();
  if (existsSync(CHROMIUM)) {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  }
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await db.destroy();
});

inChromium('the example app in Chromium', () => {
  let tracker: ActivityTracker;
  let server: Server;
  let base: string;
  beforeEach(async () => {
    await resetTables(db.knex);
    tracker = testTracker(db.knex, { ...EXAMPLE_TRACKER_OPTIONS, logger: memoryLogger() });
    server = createExampleApp(tracker, { logError: () => undefined }).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
    await tracker.close();
  });

  it('stores one session for one visit, with the failed login in it, the favicon as an asset, and a second user in a session of their own', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    const signIn = async (username: string, password: string): Promise<void> => {
      await page.goto(`${base}/login`);
      await page.fill('input[name=username]', username);
      await page.fill('input[name=password]', password);
      await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
    };
    await page.goto(`${base}/`);
    await signIn('demo', 'not-the-password');
    await page.getByRole('alert').waitFor();
    await signIn('demo', 'demo-password');
    await page.waitForURL(`${base}/dashboard`);
    await Promise.all([page.waitForURL(`${base}/`), page.click('header button[type=submit]')]);
    await page.goto(`${base}/`);
    await signIn('grace', 'grace-password');
    await page.waitForURL(`${base}/dashboard`);
    await context.close();
    await tracker.flush();

    const rows = await storedActivities(db.knex);
    const requests = rows.filter((r) => r.path !== null);
    const graceLogin = requests.findIndex((r) => r.method === 'POST' && r.path === '/login' && r.user_id === 'grace');
    expect(graceLogin).toBeGreaterThan(0);
    const demoVisit = requests.slice(0, graceLogin);
    // Everything before grace signed in, anonymous pages, the failed login and logout included, is one session.
    expect(new Set(demoVisit.map((r) => r.session_id)).size).toBe(1);
    expect(demoVisit.map((r) => r.activity_type)).toEqual(expect.arrayContaining(['page_view', 'login_failed', 'login', 'logout']));
    expect(new Set(demoVisit.map((r) => r.user_id))).toEqual(new Set([null, 'demo']));
    const graceVisit = requests.slice(graceLogin).filter((r) => r.user_id === 'grace');
    expect(graceVisit.length).toBeGreaterThanOrEqual(2);
    expect(new Set(graceVisit.map((r) => r.session_id)).size).toBe(1);
    expect(graceVisit[0]?.session_id).not.toBe(demoVisit[0]?.session_id);
    // Chrome asks for /favicon.ico by itself; the example has none: a 404 that is no failed page view.
    const favicons = requests.filter((r) => r.path === '/favicon.ico');
    expect(favicons.length).toBeGreaterThan(0);
    expect(favicons.every((r) => r.activity_type === 'asset' && r.status_code === 404)).toBe(true);
  }, 60_000);
});
