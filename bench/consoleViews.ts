/**
 * The runs of the console bench in the browser: each view timed 1 + `runs` times in a fresh browser
 * profile (its first run is the first visit, with an empty HTTP cache), in two ways:
 * - same tab: one tab navigated to the view again for each run, as a user reloading it or coming
 *   back to it from a bookmark in the tab they work in;
 * - new tab: a new tab for each run, whose renderer starts with the navigation, as a user opening
 *   the console from a link.
 * Each step starts SETTLE_MS after the previous one, so that what that one left running (the
 * recorder's writes of its reads, a closing tab, the last frames) is over.
 */
import type { Browser, Page } from 'playwright-core';
import { signedInContext, timeNextPage, timePageLoad, type NextPageLoad, type PageLoad, type SignedInContext, type ViewExpectation } from './consoleBrowser';

const SETTLE_MS = 500;

export type TabKind = 'same tab' | 'new tab';
export const TAB_KINDS: readonly TabKind[] = ['same tab', 'new tab'];

export interface ViewRuns {
  explorer: Record<TabKind, PageLoad[]>;
  /** "Next page" clicked after each same-tab explorer load. */
  nextPage: NextPageLoad[];
  overview: Record<TabKind, PageLoad[]>;
}

export interface ViewUrls {
  explorer: string;
  overview: string;
}

export async function timeConsoleViews(browser: Browser, token: string, urls: ViewUrls, pageRows: number, runs: number, errors: string[]): Promise<ViewRuns> {
  const result: ViewRuns = { explorer: { 'same tab': [], 'new tab': [] }, nextPage: [], overview: { 'same tab': [], 'new tab': [] } };
  const explorer: ViewExpectation = { view: 'explorer', rows: pageRows };
  for (const tab of TAB_KINDS) {
    console.log(`  browser, ${tab}: explorer first page${tab === 'same tab' ? ' and next page' : ''} ...`);
    await eachRun(browser, token, errors, tab, runs, async (signedIn, page) => {
      result.explorer[tab].push(await timePageLoad(signedIn, page, urls.explorer, explorer, '/activities'));
      if (tab !== 'same tab') return;
      await settle();
      result.nextPage.push(await timeNextPage(signedIn, page, pageRows));
    });
    console.log(`  browser, ${tab}: overview, 7 days ...`);
    await eachRun(browser, token, errors, tab, runs, async (signedIn, page) => {
      result.overview[tab].push(await timePageLoad(signedIn, page, urls.overview, { view: 'overview' }, '/stats'));
    });
  }
  return result;
}

/** 1 + `runs` runs of `step` in a new profile, each in the same tab or a new one. */
async function eachRun(browser: Browser, token: string, errors: string[], tab: TabKind, runs: number, step: (signedIn: SignedInContext, page: Page) => Promise<void>): Promise<void> {
  const signedIn = await signedInContext(browser, token, errors);
  try {
    let page = await signedIn.context.newPage();
    for (let i = 0; i <= runs; i++) {
      if (tab === 'new tab' && i > 0) {
        await page.close();
        page = await signedIn.context.newPage();
      }
      await settle();
      await step(signedIn, page);
    }
  } finally {
    await signedIn.context.close();
  }
}

function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}
