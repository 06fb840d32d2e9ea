/**
 * The request path's own CPU: what the middleware and the event it builds cost per request, with
 * the recorder replaced by a target that keeps nothing. No sockets, no database, no router: each
 * request is a real Node IncomingMessage and ServerResponse made an Express request and response
 * (behind a trusted proxy, as `npm run bench` runs it, so reading req.ip costs what it costs there)
 * and given what Express would have set by the end (route, params, body, response headers).
 *
 *   npm run bench:capture                     9 rounds of 20,000 requests per scenario
 *   BENCH_CAPTURE_ROUNDS=15 BENCH_CAPTURE_N=50000 npm run bench:capture
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/capture.js     self time per function
 *   BENCH_CAPTURE_ONLY=2                      only the second scenario (1-based), e.g. to profile it alone
 *
 * Each round times the same requests twice, without the middleware and with it, interleaved; the
 * table gives the median over rounds of the difference, in µs of CPU (user + system) per request.
 * Timings include the garbage collection the allocations cause.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import { resolveConfig } from '../lib/config';
import type { CaptureContext } from '../lib/capture/buildEvent';
import { GeoLocator } from '../lib/capture/geo';
import { createSanitizer } from '../lib/capture/sanitize';
import { SessionResolver } from '../lib/capture/session';
import { UserAgentParser } from '../lib/capture/userAgent';
import { createActivityMiddleware, type ActivityMiddleware } from '../middleware/activityMiddleware';
import type { ActivityEvent, TrackedRequest } from '../lib/types';

const ROUNDS = positiveInteger('BENCH_CAPTURE_ROUNDS', 9);
const N = positiveInteger('BENCH_CAPTURE_N', 20_000);
const ONLY = process.env['BENCH_CAPTURE_ONLY'] ? positiveInteger('BENCH_CAPTURE_ONLY', 1) : null;

const CHROME_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const CLIENT_IPS = ['8.8.8.8', '81.2.69.142', '185.60.216.35', '133.242.0.3', '200.160.2.3'];
const BROWSER_HEADERS = {
  'user-agent': CHROME_UA,
  accept: 'application/json, text/plain, */*',
  'accept-language': 'en-US,en;q=0.9,de;q=0.8',
  'accept-encoding': 'gzip, deflate, br',
  referer: 'https://shop.example.com/catalog?page=2',
};

interface Scenario {
  name: string;
  method: string;
  url: string;
  route: string;
  params: (i: number) => Record<string, string>;
  headers: (i: number) => Record<string, string>;
  body?: (i: number) => unknown;
  status: number;
  responseLength: number;
}

function scenarios(cookies: readonly string[]): Scenario[] {
  return [
    {
      name: 'GET /api/items/:id, Chrome, public IP, no cookie',
      method: 'GET', url: '/api/items/42?fields=name&page=2', route: '/api/items/:id',
      params: () => ({ id: '42' }), headers: () => BROWSER_HEADERS, status: 200, responseLength: 64,
    },
    {
      name: 'GET /api/items/:id, Chrome, public IP, signed cookie',
      method: 'GET', url: '/api/items/42?fields=name&page=2', route: '/api/items/:id',
      params: () => ({ id: '42' }),
      headers: (i) => ({ ...BROWSER_HEADERS, cookie: `theme=dark; activity_sid=${cookies[i % cookies.length]}; _ga=GA1.1.1234567890.1700000000` }),
      status: 200, responseLength: 64,
    },
    {
      name: 'POST /api/items, JSON body, no cookie',
      method: 'POST', url: '/api/items', route: '/api/items',
      params: () => ({}),
      headers: () => ({ ...BROWSER_HEADERS, 'content-type': 'application/json', 'content-length': '96', origin: 'https://shop.example.com' }),
      body: (i) => ({ name: `Widget ${i % 100}`, price: 19.99, quantity: 3, tags: ['catalog', 'new'], description: 'A small widget for the shop' }),
      status: 201, responseLength: 120,
    },
  ];
}

/** What the tracker builds, with a recorder that only counts. */
function captureContext(): CaptureContext {
  const config = resolveConfig({
    detailedTracking: true, geo: true, sessionSecret: 'bench-capture-secret-0123456789',
    logger: { debug: () => undefined, info: () => undefined, warn: console.warn, error: console.error },
  }, {});
  return {
    config,
    sanitizer: createSanitizer({ extraSensitiveKeys: config.sensitiveKeys, limits: config.limits }),
    userAgents: new UserAgentParser(),
    geo: new GeoLocator(config.geo, (error) => console.error('geo', error)),
    sessions: new SessionResolver(config),
    tokens: null,
    report: (where, error) => console.error(`capture failed in ${where}`, error),
  };
}

const app = express();
app.set('trust proxy', true);

let enqueued = 0;
let last: ActivityEvent | null = null;
const noop = (): void => undefined;

/** One request from arrival to 'close', as Express leaves it; `middleware` null times everything but capture. */
function serve(scenario: Scenario, i: number, middleware: ActivityMiddleware | null): ServerResponse {
  const socket = { remoteAddress: '127.0.0.1', bytesWritten: 0, encrypted: false };
  const req = new IncomingMessage(socket as never) as TrackedRequest;
  req.method = scenario.method;
  req.url = scenario.url;
  req.headers = { ...scenario.headers(i), 'x-forwarded-for': `${CLIENT_IPS[i % CLIENT_IPS.length]}, 10.0.0.7` };
  const res = new ServerResponse(req);
  // What Express 5's app.handle and router do to every request and response before the first middleware.
  (req as { res?: unknown }).res = res;
  (res as { req?: unknown }).req = req;
  Object.setPrototypeOf(req, app.request);
  Object.setPrototypeOf(res, app.response);
  (res as { locals?: unknown }).locals = Object.create(null);
  (req as { next?: unknown }).next = noop;
  req.baseUrl = '';
  req.originalUrl = scenario.url;
  middleware?.(req, res, noop);
  req.route = { path: scenario.route };
  req.params = scenario.params(i);
  if (scenario.body) req.body = scenario.body(i);
  res.statusCode = scenario.status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', String(scenario.responseLength));
  res.writeHead(scenario.status);
  // No socket to flush to: the response counts as finished once its head is written.
  (res as { finished: boolean }).finished = true;
  res.emit('close');
  return res;
}

/** CPU time (user + system) rather than wall time: other processes on a busy machine do not count. */
function timeRun(scenario: Scenario, middleware: ActivityMiddleware | null): number {
  const started = process.cpuUsage();
  for (let i = 0; i < N; i++) serve(scenario, i, middleware);
  const used = process.cpuUsage(started);
  return (used.user + used.system) / N;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function positiveInteger(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${process.env[name]}`);
  return value;
}

function main(): void {
  const capture = captureContext();
  const middleware = createActivityMiddleware({
    capture,
    enqueue: (event) => {
      enqueued++;
      last = event;
    },
    record: () => Promise.resolve(),
  });
  // Each client's first answer carries its signed cookie, as a browser would keep it.
  const first = scenarios([]).at(0) as Scenario;
  const cookies = CLIENT_IPS.map((_, client) => {
    const cookie = String(serve(first, client, middleware).getHeader('set-cookie') ?? '');
    return cookie.slice('activity_sid='.length).split(';')[0] as string;
  });

  console.log(`capture cost per request: ${ROUNDS} rounds × ${N} requests per scenario, median of (with − without) in µs; node ${process.version}`);
  console.log('| scenario | without µs | with µs | capture µs (median) | min | max |');
  console.log('|---|---|---|---|---|---|');
  for (const scenario of scenarios(cookies).filter((_, i) => ONLY === null || i === ONLY - 1)) {
    // Warm-up: caches filled and the functions optimized before anything is timed.
    timeRun(scenario, null);
    timeRun(scenario, middleware);
    const bare: number[] = [];
    const tracked: number[] = [];
    const added: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const b = timeRun(scenario, null);
      const t = timeRun(scenario, middleware);
      bare.push(b);
      tracked.push(t);
      added.push(t - b);
    }
    console.log(`| ${scenario.name} | ${median(bare).toFixed(2)} | ${median(tracked).toFixed(2)} | ${median(added).toFixed(2)} | ${Math.min(...added).toFixed(2)} | ${Math.max(...added).toFixed(2)} |`);
  }
  if (enqueued === 0 || last === null) throw new Error('no event reached the recorder target');
}

main();
