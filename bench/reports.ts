/**
 * Report routes over a million rows on PostgreSQL, and the export's memory.
 *
 *   npm run build && node dist/bench/reports.js     DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test
 *   BENCH_REPORT_ROWS=200000                        a smaller data set, for a quick look
 *   BENCH_REPORT_ROUTES=export                      time only the export (no other route, no plans of theirs)
 *   BENCH_EXPORT_RUNS=5                             download the export that many times (one child each) and report the median
 *   BENCH_REPORT_SCHEMA=bench_big_123               time the routes over a schema loaded already (npm run bench:big-data with
 *                                                   BENCH_BIG_KEEP_SCHEMA=1: ten million rows), migrated first, kept afterwards
 *
 * Also run by bench/run.ts after the throughput variants (BENCH_REPORTS=0 skips it there).
 * Works in a schema of its own (bench_reports_<pid>, dropped at the end): migrates it, generates
 * the rows inside PostgreSQL (bench/reportData.ts), then times each route through HTTP, 1 warm-up
 * and 5 measured runs, and EXPLAINs every query the warm-up sent, to show which index it uses.
 * The export is downloaded in a child process (bench/exportChild.ts) whose peak RSS must stay
 * under EXPORT_RSS_LIMIT_MB. Routes that answer non-200 are reported with their status, not failed.
 * Exits non-zero only when the export ran and broke the memory limit or lost rows.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import express from 'express';
import jwt from 'jsonwebtoken';
import knexFactory, { type Knex } from 'knex';
import { Client } from 'pg';
import { createActivityTracker, migrate, type ActivityTracker } from '../lib/index';
import { ATTACKER_IPS, countGenerated, DEFAULT_REPORT_DATA, generateReportData, type ReportDataSummary } from './reportData';
import { MOUNT, type CapturedQuery, type ExportChildConfig, type ExportChildResult } from './exportChild';
import { messageOf } from '../lib/util/messageOf';
import { fmt, median, oneLine, printTable } from './markdownTable';
import { isReportRead, listen, positiveInteger, quietLogger, redact, withSearchPath } from './benchSupport';

const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432/test';
const RUNS = 5;
/** A route slower than this (median) is listed with its EXPLAIN ANALYZE for its owner. */
const SLOW_MS = 1000;
export const EXPORT_RSS_LIMIT_MB = 150;
const EXPORT_TIMEOUT_MS = 15 * 60_000;
const DAY_MS = 86_400_000;
/** Tables whose scans the plans are checked for. */
const REPORT_TABLES = /\b(user_activity|activity_sessions|activity_summaries)\b/;

interface RouteCase {
  label: string;
  /** Path under the mount point, query string included. */
  path: string;
}

interface PlanFacts {
  sql: string;
  bindings: unknown[];
  /** The plan's first line without its cost estimate. */
  top: string;
  /** Every scan of a report table, e.g. `Index Scan Backward using user_activity_start_time_idx on user_activity`. */
  scans: string[];
  seqScanOnActivity: boolean;
  plan: string[];
  error?: string;
}

interface RouteResult {
  route: RouteCase;
  status: number;
  errorCode?: string;
  medianMs: number;
  maxMs: number;
  kb: number;
  /** Rows in the body's `data` when it is an array. */
  rows: number | null;
  plans: PlanFacts[];
}

/**
 * Runs the whole report bench against `databaseUrl` and prints its tables.
 * @returns false when the export ran and failed its memory or row check.
 */
export async function runReportBench(databaseUrl: string): Promise<boolean> {
  const rows = positiveInteger('BENCH_REPORT_ROWS', DEFAULT_REPORT_DATA.rows, 1000);
  const exportOnly = routeSelection() === 'export';
  // Over a loaded schema (ten million rows) the export runs only when asked for: it takes minutes.
  const exportRuns = process.env['BENCH_REPORT_SCHEMA'] !== undefined && process.env['BENCH_EXPORT_RUNS'] === undefined ? 0 : positiveInteger('BENCH_EXPORT_RUNS', 1, 1);
  const given = process.env['BENCH_REPORT_SCHEMA'];
  if (given !== undefined && !/^[a-z_][a-z0-9_]*$/.test(given)) throw new Error(`BENCH_REPORT_SCHEMA must be a schema name, got ${JSON.stringify(given)}`);
  const schema = given ?? `bench_reports_${process.pid}`;
  const schemaUrl = withSearchPath(databaseUrl, schema);
  const jwtSecret = randomBytes(32).toString('hex');
  const admin = knexFactory({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 1 } });
  let schemaKnex: Knex | undefined;
  let tracker: ActivityTracker | undefined;
  let server: http.Server | undefined;
  let explainer: Client | undefined;
  console.log(`\nreport routes: ${given ? 'the rows of' : `${rows.toLocaleString('en-US')} rows in`} schema ${schema} at ${redact(databaseUrl)}`);
  try {
    if (!given) await admin.raw('create schema ??', [schema]);
    schemaKnex = knexFactory({ client: 'pg', connection: databaseUrl, searchPath: [schema], pool: { min: 0, max: 1 } });
    await migrate(schemaKnex);
    const now = new Date();
    let data: Omit<ReportDataSummary, 'seconds'>;
    if (given) {
      data = await countGenerated(schemaKnex);
      console.log(`  ${data.activities.toLocaleString('en-US')} activities, ${data.sessions} sessions (${data.activeSessions} active), ${data.summaries} daily summaries`);
    } else {
      process.stdout.write('  generating ... ');
      const generated = await generateReportData(schemaKnex, { ...DEFAULT_REPORT_DATA, rows, now });
      console.log(`${generated.activities.toLocaleString('en-US')} activities in ${generated.seconds.activities.toFixed(1)} s (indexes included), `
        + `${generated.sessions} sessions (${generated.activeSessions} active) and ${generated.summaries} daily summaries in ${generated.seconds.sessions.toFixed(1)} s, ANALYZE ${generated.seconds.analyze.toFixed(1)} s`);
      data = generated;
    }
    await schemaKnex.destroy();
    schemaKnex = undefined;

    tracker = createActivityTracker({ database: schemaUrl, jwtSecret, logger: quietLogger('report bench') });
    await tracker.ready();
    const app = express();
    // No capture middleware: the reads must not add load; the router records each read through tracker.record.
    app.use(MOUNT, tracker.router());
    server = http.createServer(app);
    const port = await listen(server);
    const token = jwt.sign({ sub: data.busyUser.id, role: 'auditor' }, jwtSecret, { algorithm: 'HS256', expiresIn: '1h' });

    let capture: CapturedQuery[] | undefined;
    tracker.knex.on('query', (q: { sql: string; bindings?: unknown[]; method?: string }) => {
      if (capture && isReportRead(q.sql)) capture.push({ sql: q.sql, bindings: q.bindings ?? [] });
    });
    explainer = new Client({ connectionString: schemaUrl });
    await explainer.connect();

    const results: RouteResult[] = [];
    for (const route of exportOnly ? [] : routeCases(now, data)) {
      process.stdout.write(`  ${route.label} ... `);
      capture = [];
      const warm = await get(port, route.path, token);
      const queries = capture;
      capture = undefined;
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) times.push((await get(port, route.path, token)).ms);
      const plans: PlanFacts[] = [];
      for (const q of dedupe(queries)) plans.push(await explain(explainer, q));
      times.sort((a, b) => a - b);
      const result: RouteResult = {
        route,
        status: warm.status,
        ...(warm.errorCode ? { errorCode: warm.errorCode } : {}),
        medianMs: times[Math.floor(times.length / 2)] ?? NaN,
        maxMs: times[times.length - 1] ?? NaN,
        kb: warm.bytes / 1024,
        rows: warm.rows,
        plans,
      };
      results.push(result);
      console.log(`${warm.status}, median ${fmt(result.medianMs, 1)} ms`);
    }
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    await tracker.close();
    tracker = undefined;

    const exports: ExportChildResult[] = [];
    for (let run = 1; run <= exportRuns; run++) {
      process.stdout.write(`  export of every row in a child process${exportRuns > 1 ? ` (${run}/${exportRuns})` : ''} ... `);
      const exported = await runExportChild({ databaseUrl: schemaUrl, jwtSecret, token, path: '/export', sampleMs: 100 });
      console.log(exported.type === 'done' ? `${exported.status}, ${fmt(exported.seconds, 1)} s, peak RSS ${fmt(exported.peakRssMb, 0)} MB` : 'failed');
      exports.push(exported);
    }
    const first = exports[0];
    const exportPlans: PlanFacts[] = [];
    if (first?.type === 'done') for (const q of first.queries.filter((x) => isReportRead(x.sql))) exportPlans.push(await explain(explainer, q));

    printRouteTables(results, exportPlans);
    const ok = exportRuns === 0 || printExport(exports, data.activities);
    await printSlow(explainer, results);
    return ok;
  } finally {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await tracker?.close().catch(() => undefined);
    await explainer?.end().catch(() => undefined);
    await schemaKnex?.destroy();
    if (given) console.log(`  schema ${schema} kept (BENCH_REPORT_SCHEMA)`);
    else await admin.raw('drop schema if exists ?? cascade', [schema]).catch((e: unknown) => console.error(`could not drop schema ${schema}: ${String(e)}`));
    await admin.destroy();
  }
}

/** The requests timed, with dates relative to the generated data's end. */
function routeCases(now: Date, data: Omit<ReportDataSummary, 'seconds'>): RouteCase[] {
  const ago = (days: number): string => encodeURIComponent(new Date(now.getTime() - days * DAY_MS).toISOString());
  const end = encodeURIComponent(now.toISOString());
  return [
    { label: 'activities, no filter', path: '/activities' },
    { label: 'activities, userId', path: `/activities?userId=${data.busyUser.id}` },
    { label: 'activities, activityType', path: '/activities?activityType=login_failed' },
    { label: 'activities, ipAddress', path: `/activities?ipAddress=${ATTACKER_IPS[0]}` },
    { label: 'activities, entity', path: `/activities?entityType=${data.hotEntity.type}&entityId=${data.hotEntity.id}` },
    { label: 'activities, success=false', path: '/activities?success=false' },
    { label: 'activities, type + 7 days', path: `/activities?activityType=data_update&startDate=${ago(7)}&endDate=${end}` },
    { label: 'activities, orderBy duration', path: '/activities?orderBy=duration' },
    { label: 'activities, offset 10000', path: '/activities?offset=10000' },
    { label: 'stats, 24 h', path: `/stats?startDate=${ago(1)}&endDate=${end}` },
    { label: 'stats, 30 days', path: `/stats?startDate=${ago(30)}&endDate=${end}` },
    { label: 'stats, default 7 days', path: '/stats' },
    { label: 'stats, 7 days', path: `/stats?startDate=${ago(7)}&endDate=${end}` },
    { label: 'sessions/active', path: '/sessions/active' },
    { label: 'suspicious, default 24 h', path: '/suspicious' },
    { label: 'suspicious, 7 days', path: `/suspicious?startDate=${ago(7)}&endDate=${end}` },
    { label: `audit-trail ${data.hotEntity.type}/${data.hotEntity.id} (${data.hotEntity.rows} rows)`, path: `/entities/${data.hotEntity.type}/${data.hotEntity.id}/audit-trail` },
    { label: 'compliance-report, 30 days', path: `/compliance-report?startDate=${ago(30)}&endDate=${end}` },
    { label: `me/summary (${data.busyUser.id})`, path: '/me/summary' },
  ];
}

interface Answer {
  status: number;
  ms: number;
  bytes: number;
  rows: number | null;
  errorCode?: string;
}

/** One GET, timed until the last byte of the body. */
async function get(port: number, routePath: string, token: string): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}${MOUNT}${routePath}`, { headers: { authorization: `Bearer ${token}` } });
  const body = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - started;
  let rows: number | null = null;
  let errorCode: string | undefined;
  if ((res.headers.get('content-type') ?? '').includes('json')) {
    try {
      const json = JSON.parse(body.toString('utf8')) as { data?: unknown; error?: { code?: unknown } };
      if (Array.isArray(json.data)) rows = json.data.length;
      if (typeof json.error?.code === 'string') errorCode = json.error.code;
    } catch {
      // not JSON after all: leave rows unknown
    }
  }
  return { status: res.status, ms, bytes: body.length, rows, ...(errorCode ? { errorCode } : {}) };
}

function dedupe(queries: CapturedQuery[]): CapturedQuery[] {
  const seen = new Map<string, CapturedQuery>();
  for (const q of queries) if (!seen.has(q.sql)) seen.set(q.sql, q);
  return [...seen.values()];
}

/** EXPLAIN with the bindings the route sent (a custom plan for those values, as the route gets). */
async function explain(client: Client, q: CapturedQuery, analyze = false): Promise<PlanFacts> {
  try {
    const result = await client.query<{ 'QUERY PLAN': string }>(`explain ${analyze ? '(analyze, buffers) ' : ''}${q.sql}`, q.bindings);
    const plan = result.rows.map((r) => r['QUERY PLAN']);
    const scans = new Set<string>();
    for (const line of plan) {
      const m = /((?:Parallel )?(?:Seq Scan|Index Scan(?: Backward)?|Index Only Scan(?: Backward)?|Bitmap Heap Scan|Bitmap Index Scan)(?: using \S+)? on \S+)/.exec(line);
      if (m?.[1] && (REPORT_TABLES.test(m[1]) || m[1].startsWith('Bitmap Index Scan'))) scans.add(m[1]);
    }
    return {
      sql: q.sql,
      bindings: q.bindings,
      top: (plan[0] ?? '').replace(/\s+\(cost=.*$/, '').trim(),
      scans: [...scans],
      seqScanOnActivity: plan.some((line) => /Seq Scan on user_activity\b/.test(line)),
      plan,
    };
  } catch (error) {
    return { sql: q.sql, bindings: q.bindings, top: '-', scans: [], seqScanOnActivity: false, plan: [], error: messageOf(error) };
  }
}

function runExportChild(config: ExportChildConfig): Promise<ExportChildResult> {
  return new Promise((resolve) => {
    const child = fork(path.join(__dirname, 'exportChild.js'), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: ExportChildResult | undefined;
    const timer = setTimeout(() => {
      result ??= { type: 'failed', error: `no answer within ${EXPORT_TIMEOUT_MS / 60_000} minutes` };
      child.kill('SIGKILL');
    }, EXPORT_TIMEOUT_MS);
    child.on('message', (message: ExportChildResult) => {
      result ??= message;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(result ?? { type: 'failed', error: `the export child exited (code ${code}, signal ${signal}) without a result` });
    });
  });
}

// ---------------------------------------------------------------------------------------------

function printRouteTables(results: RouteResult[], exportPlans: PlanFacts[]): void {
  console.log(`\nreport routes (${RUNS} runs after 1 warm-up; one client, in-process app):`);
  printTable(['route', 'request', 'status', 'median ms', 'max ms', 'KB', 'rows', 'queries', 'Seq Scan on user_activity', 'plan top node(s)'],
    results.map((r) => [
      r.route.label,
      `GET ${r.route.path.length > 70 ? `${r.route.path.slice(0, 67)}...` : r.route.path}`,
      r.errorCode ? `${r.status} ${r.errorCode}` : String(r.status),
      fmt(r.medianMs, 1),
      fmt(r.maxMs, 1),
      fmt(r.kb, 1),
      r.rows === null ? '-' : String(r.rows),
      String(r.plans.length),
      r.plans.length === 0 ? '-' : r.plans.some((p) => p.seqScanOnActivity) ? 'YES' : 'no',
      r.plans.map((p) => p.top).join('; ') || '-',
    ]), 2);

  const planRows: string[][] = [];
  const add = (label: string, plans: PlanFacts[]): void => {
    plans.forEach((p, i) => planRows.push([label, String(i + 1), oneLine(p.sql, 110), p.error ? `EXPLAIN failed: ${p.error}` : p.top, p.scans.join(', ') || '-', p.seqScanOnActivity ? 'YES' : 'no']));
  };
  for (const r of results) add(r.route.label, r.plans);
  add('export (every row)', exportPlans);
  console.log('\nplans (EXPLAIN of each distinct statement the warm-up sent, with its bindings):');
  printTable(['route', '#', 'statement', 'top node', 'scans of report tables', 'Seq Scan on user_activity'], planRows, 2);
}

function printExport(runs: ExportChildResult[], activities: number): boolean {
  console.log(`\nexport memory (GET /export of every row, streamed to a counting sink; RSS sampled every 100 ms in the child; one line per run, then the medians):`);
  const failed = runs.find((r) => r.type === 'failed');
  if (failed?.type === 'failed') {
    console.log(`FAIL: the export child failed: ${failed.error}`);
    return false;
  }
  const done = runs.filter((r): r is Extract<ExportChildResult, { type: 'done' }> => r.type === 'done');
  const refused = done.find((r) => r.status !== 200);
  if (refused) {
    console.log(`not measured: GET /export answered ${refused.status}: ${oneLine(refused.errorBody ?? '', 300)}`);
    return true;
  }
  const header = ['run', 'rows exported', 'rows in table before the reads', 'MB', 'seconds', 'MB/s', 'rows/s', 'RSS at start MB', 'peak RSS MB', 'samples', 'limit MB', 'result'];
  const facts = done.map((result) => {
    const rows = result.lines - 1 + (result.endsWithNewline || result.bytes === 0 ? 0 : 1);
    const mb = result.bytes / (1024 * 1024);
    const memoryOk = result.peakRssMb < EXPORT_RSS_LIMIT_MB;
    // The trail rows of the reads above are newer than the generated ones and are exported too.
    const rowsOk = rows >= activities;
    return { rows, mb, seconds: result.seconds, startRss: result.startRssMb, peakRss: result.peakRssMb, samples: result.samples, memoryOk, rowsOk };
  });
  const line = (run: string, f: typeof facts[number]): string[] => [
    run, String(f.rows), String(activities), fmt(f.mb, 1), fmt(f.seconds, 1), fmt(f.mb / f.seconds, 1), fmt(f.rows / f.seconds, 0),
    fmt(f.startRss, 0), fmt(f.peakRss, 0), String(f.samples), String(EXPORT_RSS_LIMIT_MB),
    f.memoryOk && f.rowsOk ? 'PASS' : `FAIL${f.memoryOk ? '' : ' (memory)'}${f.rowsOk ? '' : ' (rows missing)'}`,
  ];
  const rows = facts.map((f, i) => line(String(i + 1), f));
  if (facts.length > 1) {
    const med = (pick: (f: typeof facts[number]) => number): number => median(facts.map(pick));
    const seconds = med((f) => f.seconds);
    const peakRss = med((f) => f.peakRss);
    rows.push(line('median', { rows: med((f) => f.rows), mb: med((f) => f.mb), seconds, startRss: med((f) => f.startRss), peakRss, samples: med((f) => f.samples),
      memoryOk: facts.every((f) => f.memoryOk), rowsOk: facts.every((f) => f.rowsOk) }));
  }
  printTable(header, rows, 1);
  return facts.every((f) => f.memoryOk && f.rowsOk);
}

/** `BENCH_REPORT_ROUTES`: every route (the default) or the export alone. */
function routeSelection(): 'all' | 'export' {
  const raw = process.env['BENCH_REPORT_ROUTES'] ?? 'all';
  if (raw === '' || raw === 'all') return 'all';
  if (raw === 'export') return 'export';
  throw new Error(`BENCH_REPORT_ROUTES must be all or export, got ${JSON.stringify(raw)}`);
}

/** For each slow route: EXPLAIN (ANALYZE, BUFFERS) of its statements, for the route's owner. */
async function printSlow(client: Client, results: RouteResult[]): Promise<void> {
  const slow = results.filter((r) => r.status === 200 && r.medianMs > SLOW_MS);
  const seq = results.filter((r) => r.plans.some((p) => p.seqScanOnActivity));
  if (slow.length === 0) console.log(`\nno route took more than ${SLOW_MS} ms (median).`);
  for (const r of slow) {
    console.log(`\nSLOW: ${r.route.label} (GET ${r.route.path}): median ${fmt(r.medianMs, 0)} ms`);
    for (const [i, q] of r.plans.entries()) {
      const analyzed = await explain(client, q, true);
      console.log(`  statement ${i + 1}: ${oneLine(q.sql, 400)}`);
      console.log(`  bindings: ${oneLine(JSON.stringify(q.bindings), 300)}`);
      for (const line of analyzed.error ? [`EXPLAIN ANALYZE failed: ${analyzed.error}`] : analyzed.plan) console.log(`    ${line}`);
    }
  }
  for (const r of seq.filter((x) => !slow.includes(x))) {
    console.log(`\nSEQ SCAN: ${r.route.label} (GET ${r.route.path}), median ${fmt(r.medianMs, 0)} ms:`);
    for (const p of r.plans.filter((x) => x.seqScanOnActivity)) {
      console.log(`  ${oneLine(p.sql, 400)}`);
      for (const line of p.plan) console.log(`    ${line}`);
    }
  }
}

if (require.main === module) {
  runReportBench(process.env['DATABASE_URL'] || LOCAL_PG).then((ok) => {
    if (!ok) process.exitCode = 1;
  }, (error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
