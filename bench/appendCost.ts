/**
 * Where PostgreSQL's time per stored row goes: the append function whole, then the parts it is made
 * of, each timed alone on the same batches of request rows as `npm run bench` stores.
 *
 *   npm run bench:append          500-row batches, 20 per step, 3 rounds, on a table already holding 20,000 rows
 *
 * Each step is one statement per batch on one connection; the backend's CPU time (from /proc, so
 * the server must be local) is its cost per row whatever else the machine is doing.
 */
import knexFactory, { type Knex } from 'knex';
import { migrate } from '../lib/index';
import { resolveConfig } from '../lib/config';
import { systemEvent } from '../lib/store/systemEvent';
import { ROW_HASH_ARGUMENTS } from '../migrations/sql/generator/chainSql';
import { COLUMN_LIST, RECORD_DEFINITION, SELECT_LIST } from '../migrations/sql/generator/appendFunction';
import type { ActivityEvent } from '../lib/types';
import { wireBatch } from '../lib/integrity/encodingV3';
import { processCpu } from './procCpu';

const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432/test';
const BATCH = 500;
const BATCHES = 20;
const PREFILL_BATCHES = 40;
const ROUNDS = 3;

const CHROME_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

/** A request row as full capture stores one for `GET /api/items/:id?fields=name&page=2`. */
function requestRow(n: number): ActivityEvent {
  const start = Date.now() - 1000 + (n % 1000);
  return systemEvent({
    startTime: start, endTime: start + 1.7, duration: 1.734, userId: `user-${n % 5}`, sessionId: `session-${n % 5}`, activityType: 'data_view',
    entityType: 'items', entityId: String(n % 8), action: 'view', ipAddress: ['8.8.8.8', '81.2.69.142', '185.60.216.35'][n % 3] as string,
    userAgent: CHROME_UA, browser: 'Chrome 126', operatingSystem: 'Windows 10', deviceInfo: { type: 'desktop', vendor: null, model: null },
    location: { country: 'US', region: null, city: null, timezone: 'America/Chicago' }, method: 'GET', path: `/api/items/${n % 8}`,
    route: '/api/items/:id', statusCode: 200, success: true, requestSize: 0, responseSize: 64,
    details: {
      params: { id: String(n % 8) }, query: { fields: 'name', page: '2' },
      headers: { accept: 'application/json, text/plain, */*', 'accept-language': 'en-US,en;q=0.9,de;q=0.8', referer: 'https://shop.example.com/catalog?page=2' },
    },
  });
}

/** The batch's rows as the append function reads them (its own record definition and select list). */
const PARSED = `select ${SELECT_LIST} from jsonb_to_recordset(?::jsonb) as r(${RECORD_DEFINITION})`;

/** Parsed rows into a copy of user_activity, numbered after what it holds. */
const insertInto = (table: string): string => `insert into ${table} (${COLUMN_LIST}, chain_position, prev_hash, row_hash)
  select p.*, (select coalesce(max(chain_position), 0) from ${table}) + row_number() over (), repeat('0', 64), md5(p.id::text) || md5(p.id::text) from (${PARSED}) p`;

/** Wall time and the server process's own CPU per row: CPU stays true when other processes share the cores. */
interface StepCost { wallUs: number; cpuUs: number }

async function timeSteps(knex: Knex, backend: number, batches: string[], steps: Array<[name: string, sql: string, extra: Knex.RawBinding[]]>): Promise<Array<[string, StepCost]>> {
  const out: Array<[string, StepCost]> = [];
  for (const [name, sql, extra] of steps) {
    const cpuBefore = processCpu(backend)?.cpuMs ?? Number.NaN;
    const started = performance.now();
    for (const batch of batches) await knex.raw(sql, [batch, ...extra]);
    const rows = batches.length * BATCH;
    out.push([name, { wallUs: ((performance.now() - started) * 1000) / rows, cpuUs: (((processCpu(backend)?.cpuMs ?? Number.NaN) - cpuBefore) * 1000) / rows }]);
  }
  return out;
}

async function main(): Promise<void> {
  const url = process.env['DATABASE_URL'] || LOCAL_PG;
  const schema = `bench_append_${process.pid}`;
  const admin = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  const knex = knexFactory({ client: 'pg', connection: url, searchPath: [schema], pool: { min: 1, max: 1 } });
  let n = 0;
  const makeBatch = (): string => JSON.stringify(Array.from({ length: BATCH }, () => requestRow(n++)));
  try {
    await admin.raw('create schema ??', [schema]);
    await migrate(knex);
    const risk = JSON.stringify(resolveConfig({}).risk);
    for (let i = 0; i < PREFILL_BATCHES; i++) await knex.raw('select activity_tracking_append(?::jsonb, true, ?::jsonb)', [makeBatch(), risk]);
    await knex.raw('create table plain_rows (like user_activity including defaults)');
    await knex.raw('create table indexed_rows (like user_activity including defaults including indexes)');
    await knex.raw('analyze');

    const backend = Number(((await knex.raw('select pg_backend_pid() as pid')) as { rows: Array<{ pid: number }> }).rows[0]?.pid);
    const fresh = (): string[] => Array.from({ length: BATCHES }, makeBatch);
    const wire = (): string[] => Array.from({ length: BATCHES }, () => wireBatch(Array.from({ length: BATCH }, () => requestRow(n++))));
    const appends: Array<[name: string, sql: string, extra: Knex.RawBinding[], batches: () => string[]]> = [
      ['append_rows, writer-hashed, not scored', 'select * from activity_tracking_append_rows(?::jsonb, true, null::jsonb)', [], wire],
      ['append_rows, writer-hashed, risk scored (what the tracker runs)', 'select * from activity_tracking_append_rows(?::jsonb, true, ?::jsonb)', [risk], wire],
      ['append, risk scored (database-hashed, before)', 'select activity_tracking_append(?::jsonb, true, ?::jsonb)', [risk], fresh],
      ['append, not scored', 'select activity_tracking_append(?::jsonb, true, null::jsonb)', [], fresh],
    ];
    const parts: Array<[name: string, sql: string, extra: Knex.RawBinding[]]> = [
      ['parse the JSON batch into rows', `select count(*) from (${PARSED}) t`, []],
      ['parse + content and row hashes', `select count(activity_tracking_row_hash(${ROW_HASH_ARGUMENTS})) from (select 1::bigint as chain_position, repeat('0', 64) as prev_hash, p.* from (${PARSED}) p) t`, []],
      ['parse + insert, no index, no trigger', insertInto('plain_rows'), []],
      ['parse + insert with user_activity\'s indexes', insertInto('indexed_rows'), []],
    ];
    // Interleaved rounds, the cheapest of each kept: the first calls of a function also plan its statement.
    const best = new Map<string, StepCost>();
    for (let round = 0; round < ROUNDS; round++) {
      const measured: Array<[string, StepCost]> = [];
      for (const [name, sql, extra, batches] of appends) measured.push(...(await timeSteps(knex, backend, batches(), [[name, sql, extra]])));
      measured.push(...(await timeSteps(knex, backend, fresh(), parts)));
      for (const [name, cost] of measured) {
        const seen = best.get(name);
        best.set(name, seen === undefined ? cost : { cpuUs: Math.min(seen.cpuUs, cost.cpuUs), wallUs: Math.min(seen.wallUs, cost.wallUs) });
      }
    }
    const results = [...best];
    // What a call costs whatever its size: one-row batches, the backend's CPU per call.
    const calls = 200;
    const single = Array.from({ length: calls }, () => wireBatch([requestRow(n++)]));
    const callCpuBefore = processCpu(backend)?.cpuMs ?? Number.NaN;
    for (const batch of single) await knex.raw('select * from activity_tracking_append_rows(?::jsonb, true, ?::jsonb)', [batch, risk]);
    const perCallMs = ((processCpu(backend)?.cpuMs ?? Number.NaN) - callCpuBefore) / calls;
    console.log(`PostgreSQL time per row, ${BATCH}-row batches of full-capture request rows, ${BATCHES} batches per step, the least of ${ROUNDS} interleaved rounds, ${PREFILL_BATCHES * BATCH} rows stored before`);
    console.log(`(server CPU is the backend process's own, from /proc; wall time includes waiting for a core):`);
    console.log(`  ${'step'.padEnd(64)} ${'CPU'.padStart(12)} ${'wall'.padStart(12)}`);
    for (const [name, cost] of results) console.log(`  ${name.padEnd(64)} ${`${cost.cpuUs.toFixed(1)} µs/row`.padStart(12)} ${`${cost.wallUs.toFixed(1)} µs/row`.padStart(12)}`);
    console.log(`  ${`append_rows, one-row batches: CPU per call (${calls} calls)`.padEnd(64)} ${`${perCallMs.toFixed(2)} ms/call`.padStart(12)}`);
  } finally {
    await knex.destroy();
    await admin.raw('drop schema if exists ?? cascade', [schema]);
    await admin.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
