/**
 * When a console view is ready, seen from inside the page. A MutationObserver, added before the
 * page's own script runs, notes each new ready state of the view root (`main#content`
 * data-ready="true" with its rows or numbers) and reports it to Node through a CDP binding after
 * the next frame. Bindings rather than `waitForFunction`: the console's Content-Security-Policy
 * forbids the eval that string predicates need, and the bench must not turn that policy off.
 */
import type { BrowserContext, Page } from 'playwright-core';

export interface ReadyMark {
  /** performance.now() when the ready state appeared in the DOM. */
  readyMs: number;
  /** performance.now() once the frame that shows it has been produced (a task after its animation frame). */
  paintedMs: number;
  view: string | null;
  /** location.search at that moment. */
  search: string;
  /** `tr[data-activity-id]` rows in the view, and the first one's id. */
  rows: number;
  first: string | null;
  /** The text of `[data-stat=total]`, when the view has it. */
  total: string | null;
  /** When Node received the mark (performance.now() of this process). */
  receivedAt: number;
}

const BINDING = '__benchReadyMark';

/**
 * The in-page half. `window.__bench` also keeps the time of every click (for the click-to-ready
 * measure) and the main thread's long tasks (over 50 ms: script compile and run, rendering).
 */
export const READY_OBSERVER_SCRIPT = `(() => {
  const bench = { clicks: [], longTasks: [] };
  window.__bench = bench;
  addEventListener('click', () => bench.clicks.push(performance.now()), true);
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) bench.longTasks.push({ start: e.startTime, duration: e.duration }); }).observe({ type: 'longtask', buffered: true });
  } catch (e) {}
  let lastKey = '';
  const check = () => {
    const main = document.querySelector('main#content');
    if (!main || main.getAttribute('data-ready') !== 'true') return;
    const rows = main.querySelectorAll('tr[data-activity-id]');
    const first = rows.length > 0 ? rows[0].getAttribute('data-activity-id') : null;
    const stat = main.querySelector('[data-stat="total"]');
    const mark = { readyMs: performance.now(), view: main.getAttribute('data-view'), search: location.search, rows: rows.length, first, total: stat ? stat.textContent : null };
    const key = [mark.view, mark.search, mark.rows, mark.first, mark.total].join('|');
    if (key === lastKey) return;
    lastKey = key;
    requestAnimationFrame(() => setTimeout(() => {
      mark.paintedMs = performance.now();
      window.${BINDING}(mark);
    }, 0));
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-ready'] });
})();`;

interface Waiter {
  match: (mark: ReadyMark) => boolean;
  resolve: (mark: ReadyMark) => void;
}

/** The marks each page of a context reported, and who waits for which. */
export class ReadyMarks {
  private readonly marks = new WeakMap<Page, ReadyMark[]>();
  private readonly waiters = new WeakMap<Page, Waiter[]>();

  async install(context: BrowserContext): Promise<void> {
    await context.exposeBinding(BINDING, ({ page }, mark: Omit<ReadyMark, 'receivedAt'>) => {
      const received: ReadyMark = { ...mark, receivedAt: performance.now() };
      this.listOf(this.marks, page).push(received);
      const waiting = this.listOf(this.waiters, page);
      for (const waiter of [...waiting]) {
        if (!waiter.match(received)) continue;
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve(received);
      }
    });
    await context.addInitScript(READY_OBSERVER_SCRIPT);
  }

  /** The last mark of `page`, if any. */
  last(page: Page): ReadyMark | undefined {
    return this.marks.get(page)?.at(-1);
  }

  /** The first mark of `page` (already received or still to come) that `match` accepts. */
  waitFor(page: Page, match: (mark: ReadyMark) => boolean, what: string, timeoutMs: number): Promise<ReadyMark> {
    const seen = this.marks.get(page)?.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiting = this.listOf(this.waiters, page);
      const timer = setTimeout(() => {
        const index = waiting.indexOf(waiter);
        if (index >= 0) waiting.splice(index, 1);
        void describe(page, this.marks.get(page) ?? []).then((shown) => reject(new Error(
          `ERR_AT_BENCH_CONSOLE_VIEW: waited ${timeoutMs / 1000} s for ${what} at ${page.url()}; the page showed ${shown}. Check that \`npm run build\` `
          + 'built the current console and that its test hooks (main#content[data-view][data-ready], tr[data-activity-id], [data-stat=total]) are in place.',
        )));
      }, timeoutMs);
      const waiter: Waiter = { match, resolve: (mark) => { clearTimeout(timer); resolve(mark); } };
      waiting.push(waiter);
    });
  }

  private listOf<T>(map: WeakMap<Page, T[]>, page: Page): T[] {
    let list = map.get(page);
    if (!list) map.set(page, (list = []));
    return list;
  }
}

/** What the page shows, for an error message. Runs through CDP, which the page's policy does not restrict. */
async function describe(page: Page, marks: ReadyMark[]): Promise<string> {
  const main = await page.evaluate(`(() => {
    const main = document.querySelector('main');
    return main ? 'main[data-view=' + main.getAttribute('data-view') + '][data-ready=' + main.getAttribute('data-ready') + ']: ' + main.textContent.slice(0, 400)
      : 'no <main>: ' + document.body.textContent.slice(0, 400);
  })()`).catch(() => 'a page that could not be read');
  return `${String(main)} (last ready marks: ${JSON.stringify(marks.slice(-3).map(({ receivedAt: _r, ...m }) => m))})`;
}
