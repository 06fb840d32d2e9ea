/**
 * Throughput cost of full capture, and a lossless-write check.
 *
 *   npm run bench                      bare → morgan → pino-http → PostgreSQL → bare → embedded, 10 s each at full
 *                                      speed, then 10 s each at a fixed rate for CPU per request and per row
 *   BENCH_DURATION=30 npm run bench    measured seconds per variant (warm-up is 2 s, BENCH_WARMUP)
 *   BENCH_ROUNDS=3                     how many times the whole list runs, interleaved; the cost table gives
 *                                      each variant's median over the rounds (the machine's noise is large)
 *   BENCH_FIXED_RATE=1000              the fixed rate, req/s (BENCH_FIXED_DURATION seconds, default 10)
 *   BENCH_VARIANTS=bare,postgres       run only these (comma separated, in this order; a name may repeat):
 *                                      bare (Express alone), morgan and pino-http (Express logging each
 *                                      request to /dev/null), postgres, embedded (journal in 'spill' mode,
 *                                      the default), postgres-wal, embedded-wal (journal in 'write-ahead'
 *                                      mode), e.g. BENCH_VARIANTS=bare,postgres,bare,postgres-wal
 *   BENCH_DETAILED=0 BENCH_GEO=0 BENCH_RISK=0 BENCH_BATCH_SIZE=2000 BENCH_FLUSH_MS=10
 *                                      tracker options, for investigation
 *   BENCH_CPU_PROF=1                   write a .cpuprofile of each server child to $TMPDIR/activity-bench-prof
 *   BENCH_REPORTS=0                    skip the report-route bench that follows on PostgreSQL (bench/reports.ts)
 *
 * The app runs in a child process (bench/server.ts); autocannon runs here. Every request that
 * autocannon sends, warm-up included, must be stored exactly once: the process exits non-zero
 * when rows != requests for any tracked variant, or when its recorder dropped events or left any
 * in the journal after close(). Each tracked variant journals into its own folder under a temp dir
 * (removed at the end), never into the working copy.
 */
import { CLOCK_TICK_MS, processCpu } from './procCpu';
import { fork } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import knexFactory, { type Knex } from 'knex';
import { Client } from 'pg';
import { migrate, type RecorderStats } from '../lib/index';
import type { FromServer, JournalMode, ServerConfig, ToServer, VariantKind } from './protocol';
import { ChildChannel as Channel } from './childChannel';
import { runReportBench } from './reports';
import { messageOf } from '../lib/util/messageOf';

const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432/test';
const CONNECTIONS = 50;
const PIPELINING = 1;

const benchStarted = performance.now();
const DURATION = positiveNumber('BENCH_DURATION', 10);
const WARMUP = positiveNumber('BENCH_WARMUP', 2);
const ROUNDS = Math.round(positiveNumber('BENCH_ROUNDS', 3));
const FIXED_RATE = positiveNumber('BENCH_FIXED_RATE', 1000);
const FIXED_SECONDS = positiveNumber('BENCH_FIXED_DURATION', 10);

interface Variant {
  label: string;
  kind: VariantKind;
  /** The tracker's journal mode; unused for 'bare'. */
  journalMode: JournalMode;
}

/** The names BENCH_VARIANTS accepts. */
const VARIANT_NAMES: Record<string, { kind: VariantKind; journalMode: JournalMode }> = {
  bare: { kind: 'bare', journalMode: 'spill' },
  morgan: { kind: 'morgan', journalMode: 'spill' },
  'pino-http': { kind: 'pino-http', journalMode: 'spill' },
  postgres: { kind: 'postgres', journalMode: 'spill' },
  embedded: { kind: 'embedded', journalMode: 'spill' },
  'postgres-wal': { kind: 'postgres', journalMode: 'write-ahead' },
  'embedded-wal': { kind: 'embedded', journalMode: 'write-ahead' },
};

interface VariantResult {
  label: string;
  /** Which pass over the variant list (1-based). */
  round: number;
  kind: VariantKind;
  journalMode: JournalMode;
  rps: number;
  p50: number;
  p99: number;
  /** Requests autocannon sent, warm-up included. */
  sent: number;
  served: number;
  non2xx: number;
  errors: number;
  rows: number | null;
  sessions: number | null;
  stats: RecorderStats | null;
  serverCpuMs: number;
  loadCpuMs: number;
  machineBusyMs: number;
  /** CPU of the PostgreSQL server processes (Linux /proc), null where unknown. */
  postgresCpuMs: number | null;
  measuredSent: number;
  measuredSeconds: number;
  closeMs: number;
  queuedAtStop: number | null;
  rssMb: number;
  /** The fixed-rate pass: requests served, the server child's CPU and PostgreSQL's, in ms. */
  fixed: { sent: number; served: number; serverCpuMs: number; postgresCpuMs: number | null; rows: number | null };
  ratio?: number;
  bareLabel?: string;
}

// ---------------------------------------------------------------------------------------------
// Realistic traffic: a browser's XHRs, a few clients behind a proxy, each with its session cookie.

const CHROME_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const CLIENT_IPS = ['8.8.8.8', '81.2.69.142', '185.60.216.35', '133.242.0.3', '200.160.2.3'];
/** What bare Express is sent; a tracked server's clients send the signed cookie it gave them (sessionCookies). */
const UNSIGNED_SESSION_IDS = ['0f5c1a2b3c4d5e6f708192a3b4c5d6e7', '1a2b3c4d5e6f708192a3b4c5d6e7f809', '9e8d7c6b5a49382716051f2e3d4c5b6a', 'aa11bb22cc33dd44ee55ff6677889900', '5f4e3d2c1b0a99887766554433221100'];
// Seven items and one that does not exist: non-2xx responses are requests too.
const ITEM_IDS = ['1', '2', '3', '4', '5', '6', '7', '404'];

/**
 * Each client's first request, as a browser makes it: without a cookie. A tracked server answers
 * with its signed session cookie, which the client sends from then on (a cookie it did not sign is
 * ignored, and would make every request a new cookie-less client).
 */
async function sessionCookies(url: string): Promise<string[]> {
  return Promise.all(CLIENT_IPS.map(async (ip, client) => {
    const response = await fetch(`${url}/api/items/1?fields=name&page=2`, { headers: { 'user-agent': CHROME_UA, 'x-forwarded-for': `${ip}, 10.0.0.7` } });
    await response.arrayBuffer();
    const set = response.headers.getSetCookie().find((cookie) => cookie.startsWith('activity_sid='));
    return set ? (set.slice('activity_sid='.length).split(';')[0] as string) : (UNSIGNED_SESSION_IDS[client] as string);
  }));
}

function requestMix(cookies: readonly string[]): autocannon.Request[] {
  return ITEM_IDS.map((id, i) => {
    const client = i % CLIENT_IPS.length;
    return {
      method: 'GET',
      path: `/api/items/${id}?fields=name&page=2`,
      headers: {
        'user-agent': CHROME_UA,
        accept: 'application/json, text/plain, */*',
        'accept-language': 'en-US,en;q=0.9,de;q=0.8',
        'accept-encoding': 'gzip, deflate, br',
        referer: 'https://shop.example.com/catalog?page=2',
        'x-forwarded-for': `${CLIENT_IPS[client]}, 10.0.0.7`,
        cookie: `theme=dark; activity_sid=${cookies[client]}; _ga=GA1.1.1234567890.1700000000`,
      },
    };
  });
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const pgUrl = process.env['DATABASE_URL'] || LOCAL_PG;
  const pgProblem = await probePostgres(pgUrl);
  const wanted = (process.env['BENCH_VARIANTS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of wanted) {
    if (!Object.hasOwn(VARIANT_NAMES, name)) throw new Error(`BENCH_VARIANTS: unknown variant ${JSON.stringify(name)}; use ${Object.keys(VARIANT_NAMES).join(', ')}`);
  }
  let variants: Variant[];
  if (wanted.length > 0) {
    variants = wanted.map((name, i) => ({ label: labelFor(name, wanted.slice(0, i).filter((n) => n === name).length + 1), ...(VARIANT_NAMES[name] as (typeof VARIANT_NAMES)[string]) }));
  } else {
    variants = pgProblem === null
      ? [
          { label: 'bare #1', kind: 'bare', journalMode: 'spill' },
          { label: 'morgan', kind: 'morgan', journalMode: 'spill' },
          { label: 'pino-http', kind: 'pino-http', journalMode: 'spill' },
          { label: 'postgres', kind: 'postgres', journalMode: 'spill' },
          { label: 'bare #2', kind: 'bare', journalMode: 'spill' },
          { label: 'embedded', kind: 'embedded', journalMode: 'spill' },
        ]
      : [{ label: 'bare', kind: 'bare', journalMode: 'spill' }, { label: 'morgan', kind: 'morgan', journalMode: 'spill' }, { label: 'pino-http', kind: 'pino-http', journalMode: 'spill' }, { label: 'embedded', kind: 'embedded', journalMode: 'spill' }];
  }
  if (pgProblem !== null) {
    console.log(`PostgreSQL at ${redact(pgUrl)} not used: ${pgProblem}`);
    variants = variants.filter((v) => v.kind !== 'postgres');
  }
  const overrides = trackerOverrides();
  console.log(`express-activity-tracking bench: ${variants.map((v) => v.label).join(' → ')}${ROUNDS > 1 ? `, ${ROUNDS} rounds` : ''}; ${CONNECTIONS} connections, pipelining ${PIPELINING}, `
    + `warm-up ${WARMUP}s + measured ${DURATION}s each${Object.keys(overrides).length ? `; tracker overrides ${JSON.stringify(overrides)}` : ''}`);

  const schema = `bench_${process.pid}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'activity-bench-'));
  // Each tracked variant journals into its own folder here: never the working copy's ./.activity-data,
  // and no variant replays what another left.
  const journalRoot = mkdtempSync(path.join(os.tmpdir(), 'activity-bench-journal-'));
  let adminKnex: Knex | undefined;
  const results: VariantResult[] = [];
  try {
    if (variants.some((v) => v.kind === 'postgres')) {
      adminKnex = knexFactory({ client: 'pg', connection: pgUrl, pool: { min: 0, max: 1 } });
      await adminKnex.raw('create schema ??', [schema]);
      const schemaKnex = knexFactory({ client: 'pg', connection: pgUrl, searchPath: [schema], pool: { min: 0, max: 1 } });
      try {
        await migrate(schemaKnex);
      } finally {
        await schemaKnex.destroy();
      }
    }
    let lastBare: VariantResult | undefined;
    for (let round = 1; round <= ROUNDS; round++) for (const variant of variants) {
      const config: ServerConfig = { kind: variant.kind, trackerOverrides: overrides };
      if (isTracked(variant.kind)) {
        config.journalDir = path.join(journalRoot, `${results.length}-${variant.label.replace(/\W+/g, '_')}`);
        config.journalMode = variant.journalMode;
      }
      if (variant.kind === 'postgres') Object.assign(config, { databaseUrl: withSearchPath(pgUrl, schema), schema });
      if (variant.kind === 'embedded') config.dataDir = path.join(dataDir, `db-${results.length}`);
      process.stdout.write(`  running ${variant.label}${ROUNDS > 1 ? ` (round ${round})` : ''} ... `);
      const result = await runVariant(variant, config, round);
      if (variant.kind === 'bare') lastBare = result;
      else if (lastBare) Object.assign(result, { ratio: result.rps / lastBare.rps, bareLabel: lastBare.label });
      results.push(result);
      console.log(`${Math.round(result.rps)} req/s`);
    }
  } finally {
    if (adminKnex) {
      await adminKnex.raw('drop schema if exists ?? cascade', [schema]).catch((e: unknown) => console.error(`could not drop schema ${schema}: ${String(e)}`));
      await adminKnex.destroy();
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(journalRoot, { recursive: true, force: true });
  }

  const ok = report(results);
  const cpu = os.cpus();
  console.log(`\nmachine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown cpu'}), node ${process.version}, ${os.platform()} ${os.release()}; `
    + `${new Date().toISOString()}; bench took ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
  if (!ok) {
    console.error('FAIL: for at least one tracked variant, rows stored != requests sent, or the recorder dropped events or left some in the journal after close()');
    process.exitCode = 1;
  }

  // The report routes over a million rows need a PostgreSQL server; the embedded database is not the target there.
  if (pgProblem === null && process.env['BENCH_REPORTS'] !== '0') {
    if (!(await runReportBench(pgUrl))) {
      console.error('FAIL: the export broke its memory limit or lost rows');
      process.exitCode = 1;
    }
  }
}

async function runVariant(variant: Variant, config: ServerConfig, round: number): Promise<VariantResult> {
  const env = { ...process.env };
  // The embedded variant must not pick DATABASE_URL up from the environment.
  delete env['DATABASE_URL'];
  const execArgv: string[] = [];
  if (process.env['BENCH_CPU_PROF'] === '1') {
    const dir = path.join(os.tmpdir(), 'activity-bench-prof');
    mkdirSync(dir, { recursive: true });
    execArgv.push('--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${variant.label.replace(/\W+/g, '_')}-${Date.now()}.cpuprofile`);
  }
  const child = fork(path.join(__dirname, 'server.js'), [JSON.stringify(config)], { env, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const channel: ServerChannel = new Channel(child);
  try {
    const { port } = await channel.next('listening', 120_000);
    const url = `http://127.0.0.1:${port}`;
    const cookies = await sessionCookies(url);
    const base = { url, connections: CONNECTIONS, pipelining: PIPELINING, requests: requestMix(cookies) };

    const warm = await autocannon({ ...base, duration: WARMUP });
    channel.send({ type: 'mark' });
    await channel.next('marked', 10_000);

    const cpuBefore = machineCpu();
    const pgBefore = postgresCpu();
    const loadBefore = process.cpuUsage();
    const measured = await autocannon({ ...base, duration: DURATION });
    const load = process.cpuUsage(loadBefore);
    const pgAfter = postgresCpu();
    const cpuAfter = machineCpu();
    channel.send({ type: 'sample' });
    const server = await channel.next('sampled', 10_000);
    const fixed = await fixedRatePass(channel, base, variant.kind);

    channel.send({ type: 'stop' });
    const stopped = await channel.next('stopped', 300_000);
    await channel.exited();
    return {
      label: ROUNDS > 1 ? `${variant.label} r${round}` : variant.label,
      round,
      kind: variant.kind,
      journalMode: variant.journalMode,
      rps: measured.requests.mean,
      p50: measured.latency.p50,
      p99: measured.latency.p99,
      sent: cookies.length + warm.requests.sent + measured.requests.sent + fixed.sent,
      served: stopped.served,
      non2xx: stopped.servedNon2xx,
      errors: warm.errors + measured.errors,
      rows: stopped.rows,
      sessions: stopped.sessions,
      stats: stopped.stats,
      serverCpuMs: server.cpuMs,
      loadCpuMs: (load.user + load.system) / 1000,
      machineBusyMs: cpuAfter.busy - cpuBefore.busy,
      postgresCpuMs: pgBefore === null || pgAfter === null ? null : pgAfter - pgBefore,
      measuredSent: measured.requests.sent,
      measuredSeconds: measured.duration,
      closeMs: stopped.closeMs,
      queuedAtStop: stopped.queuedAtStop,
      rssMb: stopped.rssMb,
      fixed,
    };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/** The server child, spoken to in protocol.ts's messages. */
type ServerChannel = Channel<FromServer, ToServer>;

/**
 * The cost of each request at a rate every variant sustains: the server child's CPU and the
 * database's, over the requests served. The writer is given a moment after the load to store the
 * last batch, so the database's share of those rows is counted.
 */
async function fixedRatePass(channel: ServerChannel, base: autocannon.Options, kind: VariantKind): Promise<VariantResult['fixed']> {
  channel.send({ type: 'mark' });
  await channel.next('marked', 10_000);
  const pgBefore = postgresCpu();
  // A set number of requests, every one answered before the pass ends (autocannon's own `sent`
  // also counts the rate limiter's skipped slots, so the amount asked for is the count).
  const amount = Math.round(FIXED_RATE * FIXED_SECONDS);
  await autocannon({ ...base, amount, overallRate: FIXED_RATE });
  if (isTracked(kind)) await new Promise((resolve) => setTimeout(resolve, 500));
  channel.send({ type: 'sample' });
  const sampled = await channel.next('sampled', 10_000);
  const pgAfter = postgresCpu();
  return {
    sent: amount,
    served: sampled.served,
    serverCpuMs: sampled.cpuMs,
    postgresCpuMs: kind === 'postgres' && pgBefore !== null && pgAfter !== null ? pgAfter - pgBefore : null,
    rows: isTracked(kind) ? sampled.served : null,
  };
}

function isTracked(kind: VariantKind): boolean {
  return kind === 'postgres' || kind === 'embedded';
}

// ---------------------------------------------------------------------------------------------

function report(results: VariantResult[]): boolean {
  let ok = true;
  const rows = results.map((r) => {
    const tracked = isTracked(r.kind);
    const equal = tracked ? r.rows === r.sent : undefined;
    if (equal === false) ok = false;
    return [
      r.label,
      describeVariant(r),
      fmt(r.rps, 0),
      fmt(r.p50, 1),
      fmt(r.p99, 1),
      r.ratio === undefined ? (tracked ? '-' : '1.00') : `${r.ratio.toFixed(2)} (vs ${r.bareLabel})`,
      String(r.sent),
      String(r.served),
      tracked ? String(r.rows) : '-',
      equal === undefined ? '-' : equal ? 'yes' : `NO (${(r.rows ?? 0) - r.sent})`,
    ];
  });
  console.log('');
  printTable(['variant', 'what', 'req/s (mean)', 'p50 ms', 'p99 ms', 'ratio to bare', 'requests sent', 'served', 'rows stored', 'rows == requests'], rows);

  console.log('\nrecorder stats (after tracker.close()):');
  printTable(['variant', 'written', 'journaled', 'replayed', 'dropped', 'retried', 'rejected', 'torn', 'backlog when load stopped', 'queued after close',
    'journal pending after close', 'close() ms', 'sessions rows', 'last error'],
    results.filter((r) => r.stats).map((r) => {
      const s = r.stats as RecorderStats;
      return [r.label, String(s.written), String(s.journaled), String(s.replayed), String(s.dropped), String(s.retried), String(s.rejected), String(s.torn),
        String(r.queuedAtStop), String(s.queued), String(s.journalPending), fmt(r.closeMs, 0), String(r.sessions), s.lastError ?? '-'];
    }));
  // Lossless also means nothing lost and nothing left behind: every event reached the database before close() returned.
  for (const r of results) {
    if (!isTracked(r.kind)) continue;
    const s = r.stats;
    if (s === null) {
      ok = false;
      console.log(`FAIL: '${r.label}' reported no recorder stats`);
      continue;
    }
    if (s.dropped > 0) {
      ok = false;
      console.log(`FAIL: '${r.label}' dropped ${s.dropped} events`);
    }
    if (s.journalPending > 0) {
      ok = false;
      console.log(`FAIL: '${r.label}' left ${s.journalPending} events in the journal after close()`);
    }
  }

  console.log(`\nCPU during the measured run, in ms of CPU per request (${os.cpus().length} cores = ${os.cpus().length * 1000} ms of CPU per second):`);
  printTable(['variant', 'seconds', 'server child', 'autocannon', 'postgres', 'everything else', 'machine busy %', 'child RSS MB', 'non-2xx (all)', 'socket errors'],
    results.map((r) => {
      const n = Math.max(1, r.measuredSent);
      const pg = r.postgresCpuMs ?? 0;
      const rest = r.machineBusyMs - r.serverCpuMs - r.loadCpuMs - pg;
      const capacity = r.measuredSeconds * 1000 * os.cpus().length;
      return [r.label, fmt(r.measuredSeconds, 1), fmt(r.serverCpuMs / n, 3), fmt(r.loadCpuMs / n, 3), r.postgresCpuMs === null ? '-' : fmt(pg / n, 3), fmt(rest / n, 3),
        fmt((100 * r.machineBusyMs) / capacity, 0), fmt(r.rssMb, 0), String(r.non2xx), String(r.errors)];
    }));
  for (const r of results) {
    // A writer that falls behind makes the request path look cheaper than it is: the rest is paid in close().
    if (r.queuedAtStop !== null && r.queuedAtStop > r.rps * 0.5) {
      console.log(`WARNING: '${r.label}' left ${r.queuedAtStop} events queued when the load stopped (${(r.queuedAtStop / r.rps).toFixed(1)} s of traffic): `
        + 'the writer did not keep up, so its req/s overstates sustainable throughput.');
    }
    const other = r.machineBusyMs - r.serverCpuMs - r.loadCpuMs - (r.postgresCpuMs ?? 0);
    const share = other / (r.measuredSeconds * 1000 * os.cpus().length);
    if (share > 0.1) console.log(`WARNING: other processes took ${(share * 100).toFixed(0)}% of the machine during '${r.label}'; its figures are disturbed, run again on a quiet machine.`);
  }
  costTable(results);
  return ok;
}

/**
 * The figures the targets are stated in, from one run: each variant's req/s as a ratio to bare
 * Express, and at the fixed rate the server's CPU per request (and what it adds to bare's) and
 * PostgreSQL's CPU per stored row.
 */
function costTable(results: VariantResult[]): void {
  const median = (values: number[]): number => {
    const sorted = [...values].sort((x, y) => x - y);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length === 0 ? NaN : sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  };
  const mean = (values: number[]): number => values.reduce((x, y) => x + y, 0) / values.length;
  const cpuOf = (r: VariantResult): number => (1000 * r.fixed.serverCpuMs) / Math.max(1, r.fixed.served);
  // Each run against the bare runs of its own round, then the median over the rounds.
  const rows = new Map<string, { what: string; rps: number[]; ratio: number[]; cpu: number[]; added: number[]; pg: number[] }>();
  for (const r of results) {
    const bares = results.filter((b) => b.kind === 'bare' && b.round === r.round);
    const name = r.label.replace(/ r\d+$/, '').replace(/ #\d+$/, '');
    const row = rows.get(name) ?? { what: describeVariant(r), rps: [], ratio: [], cpu: [], added: [], pg: [] };
    row.rps.push(r.rps);
    row.cpu.push(cpuOf(r));
    if (bares.length > 0) {
      row.ratio.push(r.rps / mean(bares.map((b) => b.rps)));
      row.added.push(cpuOf(r) - mean(bares.map(cpuOf)));
    }
    if (r.fixed.postgresCpuMs !== null && r.fixed.rows) row.pg.push((1000 * r.fixed.postgresCpuMs) / r.fixed.rows);
    rows.set(name, row);
  }
  console.log(`\nCost per request, median of ${ROUNDS} round(s) (req/s at full speed as a ratio to bare Express in the same round; CPU at a fixed ${FIXED_RATE} req/s for ${FIXED_SECONDS} s):`);
  printTable(['variant', 'what', 'req/s', 'ratio to bare', 'app CPU µs/req', 'added to bare µs', 'PostgreSQL CPU µs/row'],
    [...rows].map(([name, row]) => [name, row.what, fmt(median(row.rps), 0), fmt(median(row.ratio), 2), fmt(median(row.cpu), 0),
      name === 'bare' ? '-' : fmt(median(row.added), 0), row.pg.length ? fmt(median(row.pg), 0) : '-']));
}

function describeVariant(r: VariantResult): string {
  switch (r.kind) {
    case 'bare': return 'express 5, no logging';
    case 'morgan': return 'morgan combined → /dev/null';
    case 'pino-http': return 'pino-http → /dev/null';
    default: return `full capture, ${r.kind}, journal ${r.journalMode}`;
  }
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}


/** All cores' busy time in ms: user + nice + system + irq + softirq from /proc/stat, else os.cpus(). */
function machineCpu(): { busy: number } {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = fields;
    return { busy: (user + nice + system + irq + softirq) * CLOCK_TICK_MS };
  } catch {
    let busy = 0;
    for (const cpu of os.cpus()) busy += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq;
    return { busy };
  }
}

/** CPU ms used so far by processes named postgres (Linux only; null elsewhere). */
function postgresCpu(): number | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  let ms = 0;
  for (const pid of pids) {
    const found = processCpu(pid);
    // null: the process ended meanwhile
    if (found?.name === 'postgres') ms += found.cpuMs;
  }
  return ms;
}

async function probePostgres(url: string): Promise<string | null> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000, query_timeout: 2000 });
  client.on('error', () => undefined);
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 2 s')), 2000).unref());
  try {
    await Promise.race([(async () => {
      await client.connect();
      await client.query('select 1');
    })(), timeout]);
    return null;
  } catch (error) {
    return messageOf(error);
  } finally {
    void client.end().catch(() => undefined);
  }
}

/** The tracker's own pool then writes into the bench schema, as a DATABASE_URL user's would. */
function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

function trackerOverrides(): NonNullable<ServerConfig['trackerOverrides']> {
  const o: NonNullable<ServerConfig['trackerOverrides']> = {};
  const bool = (name: string): boolean | undefined => {
    const v = process.env[name];
    return v === undefined || v === '' ? undefined : !['0', 'false', 'no', 'off'].includes(v.toLowerCase());
  };
  const detailed = bool('BENCH_DETAILED');
  if (detailed !== undefined) o.detailedTracking = detailed;
  const geo = bool('BENCH_GEO');
  if (geo !== undefined) o.geo = geo;
  if (bool('BENCH_RISK') === false) o.risk = false;
  if (process.env['BENCH_BATCH_SIZE']) o.batchSize = positiveNumber('BENCH_BATCH_SIZE', 500);
  if (process.env['BENCH_FLUSH_MS']) o.flushIntervalMs = positiveNumber('BENCH_FLUSH_MS', 50);
  return o;
}

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

function labelFor(name: string, nth: number): string {
  return name === 'bare' ? `bare #${nth}` : nth === 1 ? name : `${name} #${nth}`;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
