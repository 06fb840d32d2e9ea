/**
 * The auditor's console in Chromium, signed in with a bearer token, behind helmet()'s default
 * policy: the sign-in form, the overview's numbers, the explorer's bookmarkable filters and keyset
 * pages, the detail panel, live mode, the CSV download, and a hostile user agent and path shown as
 * text. Every test ends with no policy violation and no uncaught error on any page.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Locator, Page } from 'playwright-core';
import { EXPRESS_VERSIONS, testTracker, type ExpressFactory } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { REPORT_SECRET, tokenFor } from './support/reports';
import {
  apiGet, ConsoleBrowser, consoleApp, consoleUrl, eventually, inChromium, rowIds, serve, statText, viewReady, type PageGlobals, type RunningServer,
} from './support/consoleBrowser';
import {
  expectedTotals, HOSTILE_PATH, HOSTILE_USER_AGENT, HOSTILE_VISIT, INVOICE_UPDATE, KNOWN_ACTIVITIES, KNOWN_PERIOD, seedKnownActivities,
} from './support/consoleData';
import type { ActivityTracker } from '../lib/tracker';
import type { ActivityEvent } from '../lib/types';

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

const [, express5] = EXPRESS_VERSIONS[1];
const AUDITOR = tokenFor('aud', 'auditor');

/** Ids of known rows, newest first: the explorer's default order. */
const newestFirst = (rows: readonly ActivityEvent[]): string[] => [...rows].sort((a, b) => b.startTime - a.startTime).map((r) => r.id);
const rowsOf = (userId: string): ActivityEvent[] => KNOWN_ACTIVITIES.filter((r) => r.userId === userId);

/** The value shown beside a term (`<dt>`) of a definition list inside `scope`. */
function definition(scope: Locator, term: string): Locator {
  return scope.locator('dt').filter({ hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');
}

/** Picks activity types in the filter form, whether its control is one multiple select or a box per type (the hook is the name). */
async function chooseTypes(filters: Locator, types: string[]): Promise<void> {
  const control = filters.locator('[name="activityType"]');
  if (await control.first().evaluate((element) => element.tagName === 'SELECT')) {
    await control.selectOption(types);
    return;
  }
  for (const type of types) await filters.locator(`[name="activityType"][value="${type}"]`).check();
}

/** A table's rows as text cells, found by its caption. */
async function tableCells(page: Page, caption: string): Promise<string[][]> {
  const table = page.locator('table').filter({ has: page.locator('caption', { hasText: caption }) });
  return table.locator('tbody tr').evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('th, td')].map((cell) => (cell.textContent ?? '').trim())));
}

/** Nothing of the hostile row ran or became an element. */
async function expectNoMarkupRan(page: Page): Promise<void> {
  expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).__xss)).toBeUndefined();
  expect(await page.locator('img[src="x"]').count()).toBe(0);
  expect(await page.evaluate(() => [...(globalThis as unknown as PageGlobals).document.scripts].some((s) => s.text.includes('__xss')))).toBe(false);
}

inChromium('the console in Chromium (bearer tokens)', () => {
  let tracker: ActivityTracker | undefined;
  let server: RunningServer | undefined;
  beforeEach(async () => {
    await resetTables(db.knex);
    await seedKnownActivities(db.knex);
  });
  afterEach(async () => {
    const problems = await chrome!.endTest();
    await server?.close();
    await tracker?.close();
    server = undefined;
    tracker = undefined;
    expect(problems).toEqual([]);
  });

  async function start(express: ExpressFactory = express5): Promise<string> {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, jobs: false, liveStreams: { pollMs: 100 } });
    server = await serve(consoleApp(express, tracker, (app) => {
      app.get('/some-page', (_req, res) => { res.type('text/plain').send('a page of the app'); });
    }));
    return server.origin;
  }

  it.each(EXPRESS_VERSIONS)('asks for a token, keeps it for the tab only, and signs out (%s)', async (_name, express) => {
    const origin = await start(express);
    const context = await chrome!.newContext();
    const page = await context.newPage();
    await page.goto(consoleUrl(origin));
    await viewReady(page, 'sign-in');
    // A token of another server is refused with the route's reason.
    await page.getByLabel('Access token').fill(tokenFor('aud', 'auditor', {}, 'another-secret-0123456789-0123456789'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'The token signature is not valid for this server' }).waitFor();

    await page.getByLabel('Access token').fill(AUDITOR);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await viewReady(page, 'overview');
    await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Explorer' }).waitFor();
    expect(await page.locator('header').textContent()).toContain('aud');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.getItem('activityTrackingToken'))).toBe(AUDITOR);

    await page.reload();
    await viewReady(page, 'overview');
    expect(await page.locator('#token').count()).toBe(0);

    // Another tab of the same browser, and another browser profile, start signed out.
    const otherTab = await context.newPage();
    await otherTab.goto(consoleUrl(origin, 'explorer'));
    await viewReady(otherTab, 'sign-in');
    await expect(otherTab.getByLabel('Access token').isVisible()).resolves.toBe(true);
    const otherContext = await chrome!.newPage();
    await otherContext.goto(consoleUrl(origin));
    await viewReady(otherContext, 'sign-in');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await viewReady(page, 'sign-in');
    await page.reload();
    await viewReady(page, 'sign-in');
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.getItem('activityTrackingToken'))).toBeNull();
  });

  it('shows the known data set\'s numbers, the same as GET /stats for the period', async () => {
    const origin = await start();
    const page = await chrome!.newPage({ token: AUDITOR });
    await page.goto(consoleUrl(origin, 'overview', KNOWN_PERIOD));
    await viewReady(page, 'overview');

    const expected = expectedTotals(KNOWN_ACTIVITIES);
    // The data set as designed: a change to it must change these on purpose.
    expect(expected).toMatchObject({ total: 45, uniqueUsers: 5, uniqueSessions: 5, errors: 3 });
    const stats = (await apiGet<{ data: Record<string, unknown> }>(origin, `/stats?${new URLSearchParams(KNOWN_PERIOD)}`, AUDITOR)).data;
    expect(stats).toMatchObject({ totalActivities: expected.total, uniqueUsers: expected.uniqueUsers, uniqueSessions: expected.uniqueSessions });
    expect(stats['errorRate']).toBeCloseTo(expected.errorRate, 10);

    const percent = new Intl.NumberFormat('en', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
    expect({
      total: await statText(page, 'total'),
      uniqueUsers: await statText(page, 'uniqueUsers'),
      uniqueSessions: await statText(page, 'uniqueSessions'),
      errorRate: await statText(page, 'errorRate'),
    }).toEqual({ total: '45', uniqueUsers: '5', uniqueSessions: '5', errorRate: percent.format(expected.errorRate) });
    expect(await statText(page, 'errorRate')).toBe('6.7%');

    // Counts per type, as the table beside the bars lists them.
    const byType = new Map<string, number>();
    for (const row of KNOWN_ACTIVITIES) byType.set(row.activityType, (byType.get(row.activityType) ?? 0) + 1);
    const shown = (await tableCells(page, 'Activities by type')).map(([type, count]) => [type, Number(count)]);
    expect(new Map(shown as Array<[string, number]>)).toEqual(byType);

    // Without a period, the default week covers the known rows (and the console's own reads, now).
    await page.goto(consoleUrl(origin, 'overview'));
    await viewReady(page, 'overview');
    expect(Number((await statText(page, 'total')).replace(/,/g, ''))).toBeGreaterThanOrEqual(expected.total);
  });

  it('filters the explorer through the URL, gives the same rows to a bookmark, and pages by cursor', async () => {
    const origin = await start();
    const page = await chrome!.newPage({ token: AUDITOR });
    await page.goto(consoleUrl(origin, 'explorer'));
    await viewReady(page, 'explorer');
    const filters = page.locator('form#filters');
    await filters.locator('[name="userId"]').fill('bob');
    await chooseTypes(filters, ['login_failed', 'login']);
    await filters.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/userId=bob/);
    const bobLogins = newestFirst(rowsOf('bob').filter((r) => r.activityType.startsWith('login')));
    expect(bobLogins).toHaveLength(3);
    await eventually(() => rowIds(page), bobLogins);
    const url = new URL(page.url());
    expect(url.pathname).toMatch(/\/console\/explorer$/);
    expect(url.searchParams.get('userId')).toBe('bob');
    expect(url.searchParams.get('activityType')?.split(',').sort()).toEqual(['login', 'login_failed']);

    // The URL is the bookmark: another browser opening it gets the same rows and the same filters.
    const bookmark = await chrome!.newPage({ token: AUDITOR });
    await bookmark.goto(page.url());
    await viewReady(bookmark, 'explorer');
    expect(await rowIds(bookmark)).toEqual(bobLogins);
    expect(await bookmark.locator('form#filters [name="userId"]').inputValue()).toBe('bob');

    // 30 rows of erin, 25 a page: Next follows the cursor, Previous comes back.
    const erin = newestFirst(rowsOf('erin'));
    await page.goto(consoleUrl(origin, 'explorer', { userId: 'erin', limit: '25' }));
    await viewReady(page, 'explorer');
    await eventually(() => rowIds(page), erin.slice(0, 25));
    await page.getByRole('button', { name: 'Next page' }).click();
    await eventually(() => rowIds(page), erin.slice(25));
    expect(new URL(page.url()).searchParams.get('after')).toBeTruthy();
    await expect(page.getByRole('button', { name: 'Next page' }).isDisabled()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await eventually(() => rowIds(page), erin.slice(0, 25));
    // Previous was a navigation of its own: the browser's Back returns to the second page, Forward to the first.
    await page.goBack();
    await eventually(() => rowIds(page), erin.slice(25));
    await page.goForward();
    await eventually(() => rowIds(page), erin.slice(0, 25));
  });

  it('opens a row\'s details by click and by Enter: JSON, diff, risk and the chain link the database holds; Escape closes', async () => {
    const origin = await start();
    const page = await chrome!.newPage({ token: AUDITOR });
    await page.goto(consoleUrl(origin, 'explorer', { userId: 'alice' }));
    await viewReady(page, 'explorer');
    await eventually(() => rowIds(page), newestFirst(rowsOf('alice')));

    await page.locator(`tr[data-activity-id="${INVOICE_UPDATE.id}"]`).click();
    const detail = page.locator('section#detail[data-ready="true"]');
    await detail.waitFor();
    expect(JSON.parse(await detail.locator('pre[aria-label="Details"]').textContent() ?? 'null')).toEqual(INVOICE_UPDATE.details);
    expect(await tableCells(page, 'Changed fields')).toEqual([['amount', '100', '120'], ['status', '"draft"', '"sent"']]);
    expect(await definition(detail, 'Risk score').textContent()).toBe('0.72');
    expect(await definition(detail, 'Risk factors').locator('li').allTextContents()).toEqual(['privileged_action', 'outside_working_hours']);
    expect(await definition(detail, 'Severity').textContent()).toBe('high');
    const stored = await db.knex('user_activity').where('id', INVOICE_UPDATE.id).first('chain_position', 'prev_hash', 'row_hash');
    expect(await definition(detail, 'Position').textContent()).toBe(String(stored.chain_position));
    expect(await definition(detail, 'Row hash').textContent()).toBe(stored.row_hash);
    expect(await definition(detail, 'Previous hash').textContent()).toBe(stored.prev_hash);
    await detail.getByRole('link', { name: 'This entity\'s audit trail' }).waitFor();

    await page.keyboard.press('Escape');
    await page.locator('section#detail').waitFor({ state: 'detached' });
    // Focus goes back to the row that opened it.
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.getAttribute('data-activity-id'))).toBe(INVOICE_UPDATE.id);

    // By keyboard: focus another row, Enter.
    const first = rowsOf('alice')[0] as ActivityEvent;
    await page.locator(`tr[data-activity-id="${first.id}"]`).focus();
    await page.keyboard.press('Enter');
    await detail.waitFor();
    expect(await detail.textContent()).toContain(first.id);
    expect(await definition(detail, 'Path').textContent()).toBe('/dashboard');
    await detail.getByRole('button', { name: 'Close' }).click();
    await page.locator('section#detail').waitFor({ state: 'detached' });
  });

  it('shows rows stored while Live is on at the top of the table, within seconds', async () => {
    const origin = await start();
    const page = await chrome!.newPage({ token: AUDITOR });
    await page.goto(consoleUrl(origin, 'explorer'));
    await viewReady(page, 'explorer');
    const live = page.locator('button#live');
    await expect(live.getAttribute('aria-pressed')).resolves.toBe('false');
    await live.click();
    await expect(live.getAttribute('aria-pressed')).resolves.toBe('true');
    await page.getByText('Live: new activities appear at the top').waitFor();

    // A request of the app, through its capture middleware, and an event the app records itself.
    expect((await fetch(`${origin}/some-page`)).status).toBe(200);
    await tracker!.record({ action: 'report.generated', userId: 'zoe', details: { report: 'monthly' } });
    await tracker!.flush();
    const visit = await db.knex('user_activity').where('path', '/some-page').first('id');
    const recorded = await db.knex('user_activity').where('action', 'report.generated').first('id');
    for (const id of [visit.id, recorded.id]) {
      await page.locator(`tr[data-activity-id="${id}"]`).waitFor({ timeout: 5000 });
    }
    const shown = await rowIds(page);
    // Newest first, above the rows the page loaded before.
    expect(shown.indexOf(recorded.id)).toBeLessThan(shown.indexOf(KNOWN_ACTIVITIES.at(-1)!.id));
    expect(shown.indexOf(visit.id)).toBeLessThan(shown.indexOf(KNOWN_ACTIVITIES.at(-1)!.id));

    await live.click();
    await expect(live.getAttribute('aria-pressed')).resolves.toBe('false');
  });

  it('downloads the explorer\'s filtered rows as CSV', async () => {
    const origin = await start();
    const page = await chrome!.newPage({ token: AUDITOR });
    await page.goto(consoleUrl(origin, 'explorer', { userId: 'erin' }));
    await viewReady(page, 'explorer');
    const erin = newestFirst(rowsOf('erin'));
    await eventually(() => rowIds(page), erin);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    expect(download.suggestedFilename()).toBe('activity-export.csv');
    const records = parse(readFileSync(await download.path(), 'utf8'), { columns: true, bom: true }) as Array<Record<string, string>>;
    expect(records.map((r) => r['id'])).toEqual(erin);
    expect(new Set(records.map((r) => r['userId']))).toEqual(new Set(['erin']));
  });

  it('shows a hostile user agent and path as text, never as markup', async () => {
    const origin = await start();
    const page = await chrome!.newPage({ token: AUDITOR });
    await page.goto(consoleUrl(origin, 'explorer', { userId: 'mallory' }));
    await viewReady(page, 'explorer');
    await eventually(() => rowIds(page), [HOSTILE_VISIT.id]);
    const row = page.locator(`tr[data-activity-id="${HOSTILE_VISIT.id}"]`);
    expect(await row.textContent()).toContain(HOSTILE_PATH);

    await row.click();
    const detail = page.locator('section#detail[data-ready="true"]');
    await detail.waitFor();
    expect(await definition(detail, 'User agent').textContent()).toBe(HOSTILE_USER_AGENT);
    expect(await definition(detail, 'Path').textContent()).toBe(HOSTILE_PATH);
    await expect(page.getByText(HOSTILE_USER_AGENT, { exact: true }).isVisible()).resolves.toBe(true);
    await expectNoMarkupRan(page);

    // The session's timeline shows it as text too.
    await detail.getByRole('link', { name: 'This session\'s timeline' }).click();
    await viewReady(page, 'timeline');
    const item = page.locator(`li[data-activity-id="${HOSTILE_VISIT.id}"]`);
    expect(await item.textContent()).toContain(HOSTILE_PATH);
    await expectNoMarkupRan(page);
  });
});
