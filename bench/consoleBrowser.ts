/**
 * The console's views timed in Chromium (playwright-core). In the page, times count from the
 * navigation's start (performance.now()) to the view root's ready state (readyMarks.ts); the wall
 * clock counts in Node from the call that starts the navigation (or the click) to the moment the
 * page reports the frame that shows the ready view. The Resource Timing entries of the page's API
 * calls say how much of it was waiting for the server.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ReadyMarks, type ReadyMark } from './readyMarks';

export const CHROMIUM_PATH = '/usr/bin/chromium';
const WAIT_MS = 60_000;

/** Where the time of one page load went, in ms from the navigation's start (NaN when unknown). */
export interface PageLoad {
  /** Node: from `page.goto` to the frame showing the ready view. */
  wallMs: number;
  /** In the page: performance.now() when the view root became ready with its content. */
  readyMs: number;
  /** In the page: once the frame showing it was produced. */
  paintedMs: number;
  /** The HTML's last byte. */
  htmlEndMs: number;
  /** DOMContentLoaded over: the deferred console.js has run (and mounted the app). */
  scriptRunMs: number;
  sessionStartMs: number;
  sessionEndMs: number;
  /** The view's own API call (/activities or /stats): request sent, last byte received. */
  dataStartMs: number;
  dataEndMs: number;
  /** Main-thread tasks over 50 ms that started before the view was ready, summed: the page's own CPU on the way. */
  longTaskMs: number;
  rows: number;
  /** The overview's total, as the page shows it. */
  total: string | null;
}

/** A click on "Next page" and the next keyset page shown. */
export interface NextPageLoad {
  /** Node: from the click call (Playwright's checks included) to the frame showing the new page. */
  wallMs: number;
  /** In the page: from the click event to the view ready with the new rows, and to the frame showing them. */
  clickToReadyMs: number;
  clickToPaintedMs: number;
  /** From the click event to the /activities?after= request's start and its last byte. */
  dataStartMs: number;
  dataEndMs: number;
  rows: number;
}


export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** A browser profile of its own (empty HTTP cache), signed in with a bearer token, its pages watched for ready views and errors. */
export interface SignedInContext {
  context: BrowserContext;
  marks: ReadyMarks;
}

export async function signedInContext(browser: Browser, token: string, errors: string[]): Promise<SignedInContext> {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC', viewport: { width: 1366, height: 900 } });
  // The console's bearer mode reads the token of the tab from sessionStorage.
  await context.addInitScript(`try { sessionStorage.setItem('activityTrackingToken', ${JSON.stringify(token)}); } catch (e) {}`);
  const marks = new ReadyMarks();
  await marks.install(context);
  context.on('page', (page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
    });
    // The console message of a failed load does not name the URL; the response does.
    page.on('response', (response) => {
      if (response.status() >= 400) errors.push(`HTTP ${response.status()} ${new URL(response.url()).pathname}`);
    });
    page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  });
  return { context, marks };
}

/** What the view must show to count as rendered: the explorer's rows, the overview's total. */
export type ViewExpectation = { view: 'explorer'; rows: number } | { view: 'overview' };

function shows(expect: ViewExpectation): (mark: ReadyMark) => boolean {
  return expect.view === 'explorer' ? (m) => m.view === 'explorer' && m.rows >= expect.rows : (m) => m.view === 'overview' && m.total !== null;
}

/**
 * Navigates `page` to `url` (a new document, the assets from the HTTP cache once loaded) and times
 * it until the view is ready with its content; `dataPath` is the view's API call.
 */
export async function timePageLoad(signedIn: SignedInContext, page: Page, url: string, expect: ViewExpectation, dataPath: string): Promise<PageLoad> {
  const started = performance.now();
  await page.goto(url, { waitUntil: 'commit' });
  // Marks received before this navigation started are the previous document's.
  const matches = shows(expect);
  const mark = await signedIn.marks.waitFor(page, (m) => m.receivedAt > started && matches(m), `the ${expect.view} view ready with its content`, WAIT_MS);
  const facts = await page.evaluate(`(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const resource = (path) => performance.getEntriesByType('resource').find((r) => new URL(r.name).pathname.endsWith(path));
    const session = resource('/console/session');
    const data = resource(${JSON.stringify(dataPath)});
    return {
      htmlEndMs: nav ? nav.responseEnd : NaN, scriptRunMs: nav ? nav.domContentLoadedEventEnd : NaN,
      sessionStartMs: session ? session.startTime : NaN, sessionEndMs: session ? session.responseEnd : NaN,
      dataStartMs: data ? data.startTime : NaN, dataEndMs: data ? data.responseEnd : NaN,
      longTaskMs: window.__bench.longTasks.filter((t) => t.start < ${mark.readyMs}).reduce((sum, t) => sum + t.duration, 0),
    };
  })()`) as Pick<PageLoad, 'htmlEndMs' | 'scriptRunMs' | 'sessionStartMs' | 'sessionEndMs' | 'dataStartMs' | 'dataEndMs' | 'longTaskMs'>;
  return { wallMs: mark.receivedAt - started, readyMs: mark.readyMs, paintedMs: mark.paintedMs, rows: mark.rows, total: mark.total, ...facts };
}

/** On an explorer page that shows a keyset page: clicks "Next page" and times the next page's rows. */
export async function timeNextPage(signedIn: SignedInContext, page: Page, expectedRows: number): Promise<NextPageLoad> {
  const previousFirst = signedIn.marks.last(page)?.first ?? null;
  const clicksBefore = await page.evaluate('window.__bench.clicks.length') as number;
  const next = page.locator('main#content nav.pager').getByRole('button', { name: 'Next page', exact: true });
  const started = performance.now();
  await next.click();
  const mark = await signedIn.marks.waitFor(page, (m) => m.receivedAt > started && m.view === 'explorer' && m.search.includes('after=') && m.rows >= expectedRows && m.first !== previousFirst,
    'the next explorer page ready with new rows', WAIT_MS);
  const facts = await page.evaluate(`(() => {
    const clickAt = window.__bench.clicks[${clicksBefore}];
    const data = performance.getEntriesByType('resource').find((r) => r.startTime >= clickAt && new URL(r.name).pathname.endsWith('/activities') && r.name.includes('after='));
    return { clickAt, dataStartMs: data ? data.startTime - clickAt : NaN, dataEndMs: data ? data.responseEnd - clickAt : NaN };
  })()`) as { clickAt: number; dataStartMs: number; dataEndMs: number };
  return {
    wallMs: mark.receivedAt - started, clickToReadyMs: mark.readyMs - facts.clickAt, clickToPaintedMs: mark.paintedMs - facts.clickAt,
    dataStartMs: facts.dataStartMs, dataEndMs: facts.dataEndMs, rows: mark.rows,
  };
}
