/**
 * Who sees what in the console, in Chromium behind helmet(): the host app's cookie sign-in, an
 * admin acknowledging an alert (with a token and with the cookie), a page of another origin that
 * tries the same with the cookie and is refused, a tenant's admin, a plain user, and the platform
 * admin's chain verification. Every test ends with no policy violation and no uncaught error.
 */
import http from 'node:http';
import type { Page } from 'playwright-core';
import { EXPRESS_VERSIONS, testTracker, type ExpressFactory } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { MOUNT, REPORT_SECRET, tokenFor } from './support/reports';
import {
  apiGet, ConsoleBrowser, consoleApp, consoleUrl, cookieAuthorize, eventually, inChromium, rowIds, serve, signInRoute, statText, viewReady,
  type RunningServer,
} from './support/consoleBrowser';
import { expectedTotals, insertKnownAlerts, KNOWN_PERIOD, rowsOfTenant, seedKnownActivities } from './support/consoleData';
import type { ActivityTracker } from '../lib/tracker';
import type { Options } from '../lib/types';

let db: TestDatabase;
let chrome: ConsoleBrowser | undefined;
beforeAll(async () => {
  db = await openTestDatabase();
  chrome = await ConsoleBrowser.launch();
}, 60_000);
afterAll(async () => {
  await chrome?.close();
  await db.destroy();
});

const [, express4] = EXPRESS_VERSIONS[0];
const [, express5] = EXPRESS_VERSIONS[1];

/** The names of the navigation's links. */
function navLinks(page: Page): Promise<string[]> {
  return page.getByRole('navigation', { name: 'Console sections' }).getByRole('link').allTextContents();
}

/** Opens the security view, acknowledges the alert with `note`, and waits for the row to say so. */
async function acknowledge(page: Page, alertId: string, note: string): Promise<void> {
  await viewReady(page, 'security');
  const row = page.locator(`tr[data-alert-id="${alertId}"]`);
  await expect(row.getAttribute('data-status')).resolves.toBe('open');
  await row.getByRole('button', { name: 'Acknowledge' }).click();
  const form = page.getByRole('form', { name: /^Acknowledge alert/ });
  await form.getByLabel('Note (optional)').fill(note);
  await form.getByRole('button', { name: 'Acknowledge alert' }).click();
  await page.locator(`tr[data-alert-id="${alertId}"][data-status="acknowledged"]`).waitFor();
  expect(await row.textContent()).toContain(note);
}

inChromium('who sees what in the console (Chromium)', () => {
  let tracker: ActivityTracker | undefined;
  const servers: RunningServer[] = [];
  let alerts: { open: string; acknowledged: string };
  beforeEach(async () => {
    await resetTables(db.knex);
    await seedKnownActivities(db.knex);
    alerts = await insertKnownAlerts(db.knex);
  });
  afterEach(async () => {
    const problems = await chrome!.endTest();
    for (const server of servers.splice(0)) await server.close();
    await tracker?.close();
    tracker = undefined;
    expect(problems).toEqual([]);
  });

  async function start(express: ExpressFactory, options: Options, appRoutes?: Parameters<typeof consoleApp>[2]): Promise<string> {
    tracker = testTracker(db.knex, { jobs: false, ...options });
    const server = await serve(consoleApp(express, tracker, appRoutes));
    servers.push(server);
    return server.origin;
  }
  const withTokens = (express: ExpressFactory = express5) => start(express, { jwtSecret: REPORT_SECRET });
  /** The app signs callers in with its own cookie; the console uses it (`authorize`). */
  const withCookies = (express: ExpressFactory = express4) => start(express, { authorize: cookieAuthorize }, signInRoute);

  it('opens directly on the app\'s own sign-in cookie, with no token form, and asks for the app\'s sign-in without it', async () => {
    const origin = await withCookies();
    const page = await chrome!.newPage();
    await page.goto(consoleUrl(origin));
    await viewReady(page, 'sign-in');
    await page.getByText('Sign in to the application first').waitFor();
    expect(await page.locator('#token').count()).toBe(0);

    await page.goto(`${origin}/login?user=root&role=system_admin`);
    await page.goto(consoleUrl(origin));
    await viewReady(page, 'overview');
    expect(await page.locator('#token').count()).toBe(0);
    expect(await page.locator('header').textContent()).toContain('root');
    expect(await navLinks(page)).toContain('Integrity');
    // No sign-out button: signing out is the app's business.
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
  });

  it('lets an admin with a token acknowledge an alert with a reason, stored as an acknowledgement', async () => {
    const origin = await withTokens();
    const page = await chrome!.newPage({ token: tokenFor('adm', 'admin') });
    await page.goto(consoleUrl(origin, 'security'));
    await expect(page.locator(`tr[data-alert-id="${alerts.acknowledged}"]`).getAttribute('data-status')).resolves.toBe('acknowledged');
    await acknowledge(page, alerts.open, 'Bob mistyped his password; confirmed by phone');
    const acks = await db.knex('activity_alert_acknowledgements').where('alert_id', alerts.open).select('acknowledged_by', 'note');
    expect(acks).toEqual([{ acknowledged_by: 'adm', note: 'Bob mistyped his password; confirmed by phone' }]);
    // An auditor reads alerts but has no button.
    const auditor = await chrome!.newPage({ token: tokenFor('aud', 'auditor') });
    await auditor.goto(consoleUrl(origin, 'security'));
    await viewReady(auditor, 'security');
    expect(await auditor.locator(`tr[data-alert-id="${alerts.open}"]`).getAttribute('data-status')).toBe('acknowledged');
    expect(await auditor.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
  });

  it('lets an admin signed in by the app\'s cookie acknowledge an alert: the console passes the cross-origin check', async () => {
    const origin = await withCookies();
    const page = await chrome!.newPage();
    await page.goto(`${origin}/login?user=root&role=system_admin`);
    await page.goto(consoleUrl(origin, 'security'));
    await acknowledge(page, alerts.open, 'Checked with the account owner');
    const acks = await db.knex('activity_alert_acknowledgements').where('alert_id', alerts.open).select('acknowledged_by', 'note');
    expect(acks).toEqual([{ acknowledged_by: 'root', note: 'Checked with the account owner' }]);
  });

  it('refuses a page of another origin that posts with the admin\'s cookie: the alert stays open', async () => {
    // What reached the acknowledge route, and with which cookie and answer.
    const posts: Array<{ status: number; cookie: boolean; fetchSite: string | undefined }> = [];
    const origin = await start(express4, { authorize: cookieAuthorize }, (app) => {
      signInRoute(app);
      app.use(`${MOUNT}/alerts`, (req, res, next) => {
        if (req.method === 'POST') {
          res.on('finish', () => { posts.push({ status: res.statusCode, cookie: /app_signin=/.test(req.headers.cookie ?? ''), fetchSite: req.headers['sec-fetch-site'] as string | undefined }); });
        }
        next();
      });
    });
    const target = `${origin}${MOUNT}/alerts/${alerts.open}/acknowledge`;

    // Another origin (same host, another port): a form that posts itself, and a fetch with credentials.
    const evil = await serve((_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><html><body>
<form method="post" action="${target}" enctype="text/plain"><input name='{"note":"x","pad":"' value='"}'></form>
<script>
fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'text/plain' }, body: '{"note":"from elsewhere"}' })
  // helmet's Cross-Origin-Resource-Policy hides the answer from this page; the request has been sent all the same.
  .catch(() => {}).finally(() => document.forms[0].submit());
</script></body></html>`);
    });
    servers.push(evil);

    const context = await chrome!.newContext();
    const page = await context.newPage();
    await page.goto(`${origin}/login?user=root&role=system_admin`);
    await page.goto(evil.origin);
    await eventually(async () => posts.length, 2);
    expect(posts).toEqual([
      { status: 403, cookie: true, fetchSite: 'same-site' },
      { status: 403, cookie: true, fetchSite: 'same-site' },
    ]);
    expect(await db.knex('activity_alert_acknowledgements').where('alert_id', alerts.open).count({ n: '*' }).first().then((r) => Number(r?.['n']))).toBe(0);

    // The console itself, with the same cookie, still shows the alert open.
    const consolePage = await context.newPage();
    await consolePage.goto(consoleUrl(origin, 'security'));
    await viewReady(consolePage, 'security');
    expect(await consolePage.locator(`tr[data-alert-id="${alerts.open}"]`).getAttribute('data-status')).toBe('open');
  });

  it('shows a tenant\'s admin only that tenant\'s rows and numbers, and no integrity view', async () => {
    const origin = await withTokens();
    const token = tokenFor('acme-admin', 'admin', { tenantId: 'acme' });
    const page = await chrome!.newPage({ token });
    const acme = rowsOfTenant('acme');

    await page.goto(consoleUrl(origin, 'explorer', KNOWN_PERIOD));
    await viewReady(page, 'explorer');
    await eventually(() => rowIds(page), [...acme].sort((a, b) => b.startTime - a.startTime).map((r) => r.id));
    // Without a period too: whatever the page lists is the tenant's.
    await page.goto(consoleUrl(origin, 'explorer'));
    await viewReady(page, 'explorer');
    const listed = await rowIds(page);
    expect(listed.length).toBeGreaterThan(0);
    const tenants = await db.knex('user_activity').whereIn('id', listed).distinct('tenant_id');
    expect(tenants).toEqual([{ tenant_id: 'acme' }]);

    await page.goto(consoleUrl(origin, 'overview', KNOWN_PERIOD));
    await viewReady(page, 'overview');
    const expected = expectedTotals(acme);
    expect(expected).toMatchObject({ total: 39, uniqueUsers: 3 });
    expect([await statText(page, 'total'), await statText(page, 'uniqueUsers'), await statText(page, 'uniqueSessions')])
      .toEqual([String(expected.total), String(expected.uniqueUsers), String(expected.uniqueSessions)]);
    const stats = await apiGet<{ data: { totalActivities: number } }>(origin, `/stats?${new URLSearchParams(KNOWN_PERIOD)}`, token);
    expect(stats.data.totalActivities).toBe(expected.total);

    expect(await navLinks(page)).not.toContain('Integrity');
    expect(await navLinks(page)).toContain('Security');
    await page.goto(consoleUrl(origin, 'integrity'));
    await viewReady(page, 'integrity');
    await page.getByRole('alert').filter({ hasText: 'Your role may not open this view' }).waitFor();
    expect(await page.getByRole('button', { name: 'Verify the chain now' }).count()).toBe(0);
  });

  it('shows a plain user only their own activity, and refuses the explorer with a message', async () => {
    const origin = await withTokens();
    const page = await chrome!.newPage({ token: tokenFor('bob', 'member') });
    await page.goto(consoleUrl(origin));
    await viewReady(page, 'me');
    expect(await navLinks(page)).toEqual(['My activity']);

    await page.goto(consoleUrl(origin, 'explorer'));
    await viewReady(page, 'explorer');
    await page.getByRole('alert').filter({ hasText: 'Your role may not open this view' }).waitFor();
    expect(await page.locator('tr[data-activity-id]').count()).toBe(0);
    expect(await page.locator('form#filters').count()).toBe(0);
  });

  it('verifies the chain for the platform admin and shows it intact, with the rows checked', async () => {
    const origin = await withTokens();
    const token = tokenFor('root', 'system_admin');
    const page = await chrome!.newPage({ token });
    await page.goto(consoleUrl(origin, 'integrity'));
    await viewReady(page, 'integrity');
    const [started] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`${MOUNT}/integrity/runs`) && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Verify the chain now' }).click(),
    ]);
    expect(started.status()).toBe(202);
    const runId = ((await started.json()) as { data: { id: string } }).data.id;
    const run = page.locator('.run[data-run-status="done"]');
    await run.waitFor({ timeout: 15_000 });
    await run.getByText('The chain is intact.').waitFor();

    type Result = { ok: boolean; rowsChecked: number; verifiedFrom: number; verifiedTo: number };
    const done = (await apiGet<{ data: { status: string; result: Result } }>(origin, `/integrity/runs/${runId}`, token)).data;
    expect(done).toMatchObject({ status: 'done', result: { ok: true, verifiedFrom: 1 } });
    const { rowsChecked, verifiedTo } = done.result;
    expect(rowsChecked).toBeGreaterThanOrEqual(45);
    // The rows it checked are the chain's first ones (the console's own reads keep adding rows after them).
    const stored = await db.knex('user_activity').where('chain_position', '<=', verifiedTo).count({ n: '*' }).first();
    expect(Number(stored?.['n'])).toBe(rowsChecked);
    const shown = run.locator('dt').filter({ hasText: /^Rows checked$/ }).locator('xpath=following-sibling::dd[1]');
    expect(await shown.textContent()).toBe(new Intl.NumberFormat('en').format(rowsChecked));
    // The finished run is listed among the verifications recorded on the trail.
    await page.locator('table').filter({ has: page.locator('caption', { hasText: 'Verifications recorded on the trail' }) }).getByText('Intact').first().waitFor();
  });
});
