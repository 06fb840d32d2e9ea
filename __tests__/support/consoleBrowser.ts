/**
 * The console in Chromium: a real Express app behind helmet()'s default policy, a browser whose
 * every page is watched for policy violations and uncaught errors, and small ways to wait for a
 * view and read what it shows. The tests skip only where Chromium is not installed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import helmet from 'helmet';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import type { ActivityTracker } from '../../lib/tracker';
import type { ReportPrincipal } from '../../lib/types';
import type { ExpressFactory } from './app';
import { MOUNT } from './reports';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
// npm test passes on a machine without Chromium; .ci/run installs it, so CI always runs these.
export const inChromium = existsSync(CHROMIUM) ? describe : describe.skip;

type App = ReturnType<ExpressFactory>;

/**
 * The browser globals the tests' page functions use, typed here: the package's tsconfig has no DOM
 * library, and adding it would give the Node code browser types too. Page functions are sent to
 * the browser as source, so each casts `globalThis` itself: `(globalThis as unknown as PageGlobals)`.
 */
export interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  closest(selector: string): PageElement | null;
}
export interface PageGlobals {
  document: {
    activeElement: PageElement | null;
    scripts: Iterable<{ text: string }>;
    documentElement: { lang: string };
  };
  sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void };
  location: { protocol: string };
  /** Set only if a hostile row's markup ran. */
  __xss?: unknown;
  axe: { run(context: unknown, options: object): Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }> };
}

/**
 * The app as the README mounts it, behind helmet() with its default Content-Security-Policy (the
 * console must work under it): helmet first, then capture, then the app's own routes, then the
 * report router.
 */
export function consoleApp(express: ExpressFactory, tracker: ActivityTracker, appRoutes: (app: App) => void = () => {}): App {
  const app = express();
  app.use(helmet());
  app.use(tracker.middleware());
  appRoutes(app);
  app.use(MOUNT, tracker.router());
  return app;
}

export interface RunningServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  close(): Promise<void>;
}

/** Listens on an ephemeral port of 127.0.0.1; close() also ends open streams (live mode). */
export async function serve(listener: http.RequestListener): Promise<RunningServer> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** `<origin><mount>/console[/<view>][?query]` */
export function consoleUrl(origin: string, view = '', query: Record<string, string> = {}): string {
  const search = new URLSearchParams(query).toString();
  return `${origin}${MOUNT}/console${view === '' ? '' : `/${view}`}${search === '' ? '' : `?${search}`}`;
}

/**
 * The host app's own sign-in, for the console's cookie mode: `GET /login?user=&role=[&tenant=]`
 * sets a signed cookie, and `authorize(req)` reads it back (a test app needs no password).
 */
const COOKIE_NAME = 'app_signin';
const COOKIE_SECRET = 'console-browser-test-cookie-secret-0123456789';

function signatureOf(value: string): string {
  return createHmac('sha256', COOKIE_SECRET).update(value).digest('base64url');
}

export function signInRoute(app: App): void {
  app.get('/login', (req, res) => {
    const principal: ReportPrincipal = { userId: String(req.query['user']), role: String(req.query['role']) };
    if (typeof req.query['tenant'] === 'string') principal.tenantId = req.query['tenant'];
    const value = Buffer.from(JSON.stringify(principal)).toString('base64url');
    res.setHeader('Set-Cookie', `${COOKIE_NAME}=${value}.${signatureOf(value)}; Path=/; HttpOnly; SameSite=Lax`);
    res.type('text/plain').send(`Signed in as ${principal.userId}`);
  });
}

export function cookieAuthorize(req: { headers: http.IncomingHttpHeaders }): ReportPrincipal | null {
  const cookie = (req.headers.cookie ?? '').split(/;\s*/).find((part) => part.startsWith(`${COOKIE_NAME}=`));
  if (cookie === undefined) return null;
  const [value = '', signature = ''] = cookie.slice(COOKIE_NAME.length + 1).split('.');
  const expected = Buffer.from(signatureOf(value));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as ReportPrincipal;
}

/** Reports each `securitypolicyviolation` event to the test (init scripts run outside the page's policy). */
const VIOLATION_LISTENER = `document.addEventListener('securitypolicyviolation', (event) => {
  window.__consoleTestViolation(event.violatedDirective + ' blocked ' + (event.blockedURI || '(inline)') + ' at ' + event.sourceFile + ':' + event.lineNumber);
}, true);`;

/**
 * One Chromium for a test file, with contexts whose problems are collected: policy violations
 * (events and console messages) and uncaught page errors. endTest() closes the test's contexts
 * and returns what went wrong, which every test expects to be nothing.
 */
export class ConsoleBrowser {
  private contexts: BrowserContext[] = [];
  private problems: string[] = [];

  private constructor(readonly browser: Browser) {}

  static async launch(): Promise<ConsoleBrowser | undefined> {
    if (!existsSync(CHROMIUM)) return undefined;
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    return new ConsoleBrowser(browser);
  }

  /** A new, watched context; with `token`, every page of it starts signed in (bearer mode) as if the form had been used. */
  async newContext(options: BrowserContextOptions & { token?: string } = {}): Promise<BrowserContext> {
    const { token, ...contextOptions } = options;
    const context = await this.browser.newContext({ locale: 'en-US', timezoneId: 'UTC', viewport: { width: 1280, height: 800 }, ...contextOptions });
    this.contexts.push(context);
    await context.exposeFunction('__consoleTestViolation', (text: string) => { this.problems.push(`CSP violation: ${text}`); });
    await context.addInitScript(VIOLATION_LISTENER);
    if (token !== undefined) {
      // Every document of the context, about:blank (whose storage is closed) aside.
      await context.addInitScript((value) => {
        const page = globalThis as unknown as PageGlobals;
        // sessionStorage is read only here: about:blank's getter throws.
        if (page.location.protocol === 'http:') page.sessionStorage.setItem('activityTrackingToken', value);
      }, token);
    }
    context.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) this.problems.push(`CSP console message: ${message.text()}`);
    });
    context.on('weberror', (error) => { this.problems.push(`page error: ${error.error().message}`); });
    return context;
  }

  async newPage(options: BrowserContextOptions & { token?: string } = {}): Promise<Page> {
    return (await this.newContext(options)).newPage();
  }

  async endTest(): Promise<string[]> {
    for (const context of this.contexts.splice(0)) await context.close();
    return this.problems.splice(0);
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

/** Waits until `view` has rendered its data (the `data-ready` hook of the view's <main>). */
export async function viewReady(page: Page, view: string, timeout = 10_000): Promise<void> {
  await page.locator(`main#content[data-view="${view}"][data-ready="true"]`).waitFor({ timeout });
}

/** The ids of the activity rows the page shows, in order. */
export function rowIds(page: Page): Promise<string[]> {
  return page.locator('tr[data-activity-id]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-activity-id') ?? ''));
}

/** Polls `read` until it equals `expected` (then returns), or fails with the last value after `timeoutMs`. */
export async function eventually<T>(read: () => Promise<T>, expected: T, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: T = await read();
  while (JSON.stringify(last) !== JSON.stringify(expected) && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    last = await read();
  }
  expect(last).toEqual(expected);
}

/** The text of the stat the overview shows under `data-stat="<name>"`. */
export async function statText(page: Page, name: string): Promise<string> {
  return (await page.locator(`[data-stat="${name}"]`).textContent())?.trim() ?? '';
}

/** A report route's JSON, asked from Node with the same token the page uses. */
export async function apiGet<T = unknown>(origin: string, path: string, token: string): Promise<T> {
  const response = await fetch(`${origin}${MOUNT}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

let axeSource: string | null = null;

/** axe-core's violations on the page as it is now (evaluated through DevTools, so the page's policy does not stop it). */
export async function axeViolations(page: Page): Promise<Array<{ id: string; impact: string | null; help: string; targets: string[] }>> {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const { axe, document } = globalThis as unknown as PageGlobals;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.map(String).join(' ')) }));
  });
}
