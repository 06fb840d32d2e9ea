/**
 * The console for people who do not use a mouse or do not read English, in Chromium behind
 * helmet(): axe-core finds nothing serious on the main views, the keyboard reaches the navigation
 * and the explorer's rows and opens a row, and the UI speaks Brazilian Portuguese to a browser that
 * asks for it. Every test ends with no policy violation and no uncaught error.
 */
import type { Page } from 'playwright-core';
import { EXPRESS_VERSIONS, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { REPORT_SECRET, tokenFor } from './support/reports';
import { axeViolations, ConsoleBrowser, consoleApp, consoleUrl, eventually, inChromium, rowIds, serve, statText, viewReady, type PageGlobals, type RunningServer } from './support/consoleBrowser';
import { expectedTotals, insertKnownAlerts, INVOICE_UPDATE, KNOWN_ACTIVITIES, KNOWN_PERIOD, seedKnownActivities } from './support/consoleData';
import type { ActivityTracker } from '../lib/tracker';

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
const ROOT = tokenFor('root', 'system_admin');

/** Where the keyboard's focus is: in the navigation, on an activity row, or elsewhere. */
function focusPlace(page: Page): Promise<{ nav: boolean; rowId: string | null; text: string }> {
  return page.evaluate(() => {
    const active = (globalThis as unknown as PageGlobals).document.activeElement;
    return {
      nav: active?.closest('nav[aria-label="Console sections"]') != null,
      rowId: active?.getAttribute('data-activity-id') ?? null,
      text: (active?.textContent ?? '').trim().slice(0, 40),
    };
  });
}

inChromium('the console\'s accessibility and languages (Chromium)', () => {
  let tracker: ActivityTracker;
  let server: RunningServer;
  let origin: string;
  beforeEach(async () => {
    await resetTables(db.knex);
    await seedKnownActivities(db.knex);
    await insertKnownAlerts(db.knex);
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, jobs: false });
    server = await serve(consoleApp(express4, tracker));
    origin = server.origin;
  });
  afterEach(async () => {
    const problems = await chrome!.endTest();
    await server.close();
    await tracker.close();
    expect(problems).toEqual([]);
  });

  it('has no serious or critical axe-core violation on the overview, the explorer with a detail open, security, integrity and my activity', async () => {
    const page = await chrome!.newPage({ token: ROOT });
    const found: Array<{ view: string; violations: Awaited<ReturnType<typeof axeViolations>> }> = [];
    const check = async (view: string) => { found.push({ view, violations: await axeViolations(page) }); };

    await page.goto(consoleUrl(origin, 'overview', KNOWN_PERIOD));
    await viewReady(page, 'overview');
    await check('overview');

    await page.goto(consoleUrl(origin, 'explorer', { userId: 'alice' }));
    await viewReady(page, 'explorer');
    await page.locator(`tr[data-activity-id="${INVOICE_UPDATE.id}"]`).click();
    await page.locator('section#detail[data-ready="true"]').waitFor();
    await check('explorer with the detail panel open');

    await page.goto(consoleUrl(origin, 'security'));
    await viewReady(page, 'security');
    await check('security');

    await page.goto(consoleUrl(origin, 'integrity'));
    await viewReady(page, 'integrity');
    await page.getByRole('button', { name: 'Verify the chain now' }).click();
    await page.locator('.run[data-run-status="done"]').waitFor({ timeout: 15_000 });
    await check('integrity after a verification');

    await page.goto(consoleUrl(origin, 'me'));
    await viewReady(page, 'me');
    await check('me');

    const serious = found.flatMap(({ view, violations }) => violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({ view, ...v })));
    if (serious.length > 0) {
      const every = found.flatMap(({ view, violations }) => violations.map((v) => `${view}: [${v.impact ?? '?'}] ${v.id} (${v.help}) at ${v.targets.slice(0, 5).join(', ')}`));
      throw new Error(`axe-core found ${serious.length} serious or critical violation(s); every violation found:\n${every.join('\n')}`);
    }
  });

  it('reaches the navigation and the explorer\'s rows with Tab, and opens a row with Enter', async () => {
    const page = await chrome!.newPage({ token: ROOT });
    await page.goto(consoleUrl(origin, 'explorer', { userId: 'bob' }));
    await viewReady(page, 'explorer');
    await eventually(async () => (await rowIds(page)).length, 5);

    const visited: Array<{ nav: boolean; rowId: string | null; text: string }> = [];
    for (let i = 0; i < 80 && !visited.some((place) => place.rowId !== null); i++) {
      await page.keyboard.press('Tab');
      visited.push(await focusPlace(page));
    }
    const firstNav = visited.findIndex((place) => place.nav);
    const firstRow = visited.findIndex((place) => place.rowId !== null);
    expect(firstNav).toBeGreaterThanOrEqual(0);
    expect(firstRow).toBeGreaterThan(firstNav);
    // The first Tab lands on the skip link.
    expect(visited[0]?.text).toBe('Skip to content');

    const rowId = visited[firstRow]?.rowId as string;
    await page.keyboard.press('Enter');
    await page.locator('section#detail[data-ready="true"]').waitFor();
    expect(await page.locator('section#detail').textContent()).toContain(rowId);
    await page.keyboard.press('Escape');
    await page.locator('section#detail').waitFor({ state: 'detached' });
    expect((await focusPlace(page)).rowId).toBe(rowId);

    // Enter on a link of the navigation opens its view.
    await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Security' }).focus();
    await page.keyboard.press('Enter');
    await viewReady(page, 'security');
  });

  it('speaks Brazilian Portuguese to a pt-BR browser, and switches language on request', async () => {
    const page = await chrome!.newPage({ token: ROOT, locale: 'pt-BR' });
    await page.goto(consoleUrl(origin, 'overview', KNOWN_PERIOD));
    await viewReady(page, 'overview');
    const nav = page.getByRole('navigation', { name: 'Seções do console' });
    await nav.getByRole('link', { name: 'Visão geral' }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.lang)).toBe('pt-BR');
    // Numbers in the language's own format: 3 of 45 failed.
    expect(expectedTotals(KNOWN_ACTIVITIES).errors).toBe(3);
    expect(await statText(page, 'errorRate')).toBe(new Intl.NumberFormat('pt-BR', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(3 / 45));
    expect(await statText(page, 'errorRate')).toMatch(/^6,7\s?%$/);

    await page.getByLabel('Idioma').selectOption('en');
    await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Overview' }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.lang)).toBe('en');
    expect(await statText(page, 'errorRate')).toBe('6.7%');
    // The choice is remembered over the browser's languages.
    await page.reload();
    await viewReady(page, 'overview');
    await page.getByLabel('Language').waitFor();
    expect(await nav.count()).toBe(0);
  });
});
