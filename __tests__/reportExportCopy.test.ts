/**
 * GET /export on PostgreSQL is one COPY ... TO STDOUT whose cells PostgreSQL formats and neutralizes
 * itself (lib/store/reports/exportCopy.ts); the embedded database formats pages in Node. These tests
 * run on both and hold the two to one file format.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import knexFactory, { type Knex } from 'knex';
import request from 'supertest';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { EXPRESS_VERSIONS, testTracker } from './support/app';
import { openTestDatabase, resetTables, usingPostgres, type TestDatabase } from './support/database';
import { activity, bearer, MOUNT, REPORT_SECRET, reportApp, seed, tokenFor } from './support/reports';
import { EXPORT_HEADER } from '../lib/store/columns';
import { csvCell, neutralizeFormula } from '../lib/router/csv';
import { toActivityJson } from '../lib/store/reports/activityRows';
import { CELL_SEPARATORS, FORMULA_TRIGGERS, INVISIBLES, LEADING_BREAKS } from '../lib/store/reports/formulaCharacters';
import { mayNeedNeutralizingSql, neutralizeFormulaSql } from '../lib/store/reports/formulaSql';
import { exportCopySql, runCopy } from '../lib/store/reports/exportCopy';
import { reports } from '../lib/store/reports/reader';
import { EVERY_TENANT, tenantOnly } from '../lib/store/reports/tenantScope';
import { disableRowLevelSecurity, enableRowLevelSecurity, readInTenant } from '../lib/store/rowLevelSecurity';
import { grantWriterRole } from '../lib/store/writerRole';
import type { ActivityEvent } from '../lib/types';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const express = EXPRESS_VERSIONS[1][1];
const at = (iso: string): number => Date.parse(iso);
const JSON_FIELDS = new Set(['deviceInfo', 'location', 'details', 'changes', 'riskFactors']);
/** Node's CSV settings, as startCsv writes records. */
const NODE_FORMAT = { eof: true, record_delimiter: '\n', quoted: true } as const;

/** Text a spreadsheet or a CSV reader could trip on: formula triggers behind separators and invisibles, quotes, line breaks, unicode. */
const NASTY = [
  '=HYPERLINK("http://evil")', '+1+1', '-2', '@SUM(A1)', '\tx', '\rx', '\nx', ' =1', 'a;=1', 'a,\u200b+1', 'x\u00a0\n-1', '\uff1d1', '\u2028=x',
  '\u202e=evil', '\ufeff@x', 'comma, "quote" and\nnewline', 'a\r\nb', 'ünïcødé ✓ 🎉', "it's", 'back\\slash', '', 'plain', 'a-b=c', '\u2029', '\u0001=x',
];

function nastyRows(): ActivityEvent[] {
  const base = at('2026-11-20T10:00:00Z');
  return NASTY.map((text, i) => activity({
    startTime: base + i * 1000, userId: text, sessionId: `s-${i}`, entityId: text, path: text, userAgent: text, action: text,
    reason: text, actorName: text, category: i % 2 ? null : text, statusCode: i % 3 ? 200 : null, success: i % 2 === 0,
    duration: i % 4 === 0 ? null : i + 0.125, riskScore: i % 5 === 0 ? null : i / 100, anomaly: i % 3 === 0 ? null : i % 2 === 0,
    personalData: i % 2 === 0, requestSize: i % 2 ? null : -i,
    details: i % 6 === 5 ? null : { note: text, list: [text, -1, 1.5], nested: { [`k,${text}`]: [text] }, n: [1, -2] },
    deviceInfo: i % 7 === 3 ? null : { type: 'desktop', vendor: text, model: null },
    location: i % 5 === 2 ? null : { country: 'US', region: text, city: null, timezone: 'UTC' },
    changes: i % 3 ? null : { before: { a: text }, after: null, diff: [{ path: 'a', before: text, after: null }] },
    riskFactors: i % 4 ? null : [`=${text}`, text],
  }));
}

/** What Node writes for the stored rows (the embedded path: toActivityJson, csvCell, csv-stringify), header included. */
async function nodeRecords(knex: Knex, where: (q: Knex.QueryBuilder) => Knex.QueryBuilder): Promise<string[][]> {
  const rows = (await where(knex('user_activity').select('*')).orderBy([{ column: 'start_time', order: 'asc' }, { column: 'id', order: 'asc' }])) as Array<Record<string, unknown>>;
  return [[...EXPORT_HEADER], ...rows.map((row) => {
    const json = toActivityJson(row);
    return EXPORT_HEADER.map((field) => csvCell(json[field]));
  })];
}

/** A JSON cell without its neutralizing quote, parsed; the quote itself is compared apart. */
function jsonCell(cell: string): { quoted: boolean; value: unknown } {
  const quoted = cell.startsWith("'");
  const text = quoted ? cell.slice(1) : cell;
  return { quoted, value: text === '' ? null : JSON.parse(text) };
}

describe('GET /export: one file format on both databases', () => {
  it('writes what Node writes for the stored rows, byte for byte, JSON cells equal once parsed, LF line ends', async () => {
    await seed(db.knex, nastyRows());
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    try {
      const res = await request(reportApp(express, tracker, { capture: false })).get(`${MOUNT}/export`)
        .query({ order: 'asc', endDate: '2026-11-21' }).set(bearer('aud-1', 'auditor')).buffer(true);
      expect(res.status).toBe(200);
      const text = res.text;
      const expected = await nodeRecords(db.knex, (q) => q.where('start_time', '<=', '2026-11-21'));
      expect(expected).toHaveLength(NASTY.length + 1);
      const actual = parse(text, { relax_column_count: false }) as string[][];
      expect(actual).toHaveLength(expected.length);

      // JSON columns: PostgreSQL's jsonb text differs in spacing and key order, never in content or in being neutralized.
      const merged = expected.map((record, r) => record.map((cell, c) => {
        const field = EXPORT_HEADER[c]!;
        const got = actual[r]![c]!;
        if (r === 0 || !JSON_FIELDS.has(field)) return cell;
        expect({ field, row: r, ...jsonCell(got) }).toEqual({ field, row: r, ...jsonCell(cell) });
        return got;
      }));
      // Everything else, byte for byte: quoting, empty cells, numbers, times, neutralization and the line ends.
      expect(text).toBe(stringify(merged, NODE_FORMAT));
      expect(text.startsWith(`"${EXPORT_HEADER.join('","')}"\n`)).toBe(true);
      // Planted triggers are neutralized in text and JSON cells alike (sanity: the comparison above is not vacuous).
      const path = EXPORT_HEADER.indexOf('path');
      expect(actual[1]![path]).toBe(`'${NASTY[0]}`);
      expect(actual.slice(1).filter((r) => r[path]!.startsWith("'")).length).toBeGreaterThan(10);
    } finally {
      await tracker.close();
    }
  });

  it('neutralizes in SQL exactly as neutralizeFormula() does, over thousands of generated strings', async () => {
    // Every character the rule looks at, the ones just outside its ranges, and ordinary text.
    const edges = [...FORMULA_TRIGGERS, ...CELL_SEPARATORS, ...INVISIBLES, ...LEADING_BREAKS].flatMap(([from, to]) => [from - 1, from, to, to + 1]);
    const alphabet = [...new Set(edges.filter((c) => c > 0 && (c < 0xd800 || c > 0xdfff)).map((c) => String.fromCharCode(c)))]
      .concat(['a', 'Z', '0', "'", '"', '\\', 'é', '🎉', '\u00ad', '\u034f']);
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const samples = Array.from({ length: 4000 }, () => Array.from({ length: random(9) }, () => alphabet[random(alphabet.length)]).join(''));
    // Compared inside the database rather than read back: the embedded driver drops a leading BOM from text it returns.
    const result = (await db.knex.raw(
      `select case ${neutralizeFormulaSql('t.v')} when t.v then 'kept' when '''' || t.v then 'quoted' else 'changed' end as outcome
       from jsonb_array_elements_text(cast(? as jsonb)) with ordinality as t(v, i) order by t.i`,
      [JSON.stringify(samples)])) as { rows: Array<{ outcome: string }> };
    const inSql = result.rows.map((r) => r.outcome);
    const inNode = samples.map((s) => (neutralizeFormula(s) === s ? 'kept' : 'quoted'));
    const differing = samples.map((s, i) => ({ s: JSON.stringify(s), node: inNode[i], sql: inSql[i] })).filter((d) => d.node !== d.sql);
    expect(inSql).toHaveLength(samples.length);
    expect(differing).toEqual([]);
    // Both outcomes are well represented, so the agreement is not a trivial one.
    const risky = inNode.filter((outcome) => outcome === 'quoted').length;
    expect(risky).toBeGreaterThan(samples.length / 10);
    expect(risky).toBeLessThan(samples.length * 0.9);

    // The export asks per row first (one match over all its cells): it must never say no where a cell needs the quote.
    const rows = Array.from({ length: samples.length / 4 }, (_, i) => samples.slice(i * 4, i * 4 + 4).map((cell, j) => (j === 3 && i % 3 === 0 ? null : cell)));
    const flagged = (await db.knex.raw(
      `select ${mayNeedNeutralizingSql(['t.v->>0', 't.v->>1', 't.v->>2', 't.v->>3'])} as flag from jsonb_array_elements(cast(? as jsonb)) with ordinality as t(v, i) order by t.i`,
      [JSON.stringify(rows)])) as { rows: Array<{ flag: boolean }> };
    const missed = rows.filter((row, i) => !flagged.rows[i]!.flag && row.some((cell) => cell !== null && neutralizeFormula(cell) !== cell));
    expect(flagged.rows).toHaveLength(rows.length);
    expect(missed).toEqual([]);
    // And it says no often enough to be worth asking.
    expect(flagged.rows.filter((r) => !r.flag).length).toBeGreaterThan(rows.length / 20);
  });

  it('selects by a filter value full of backslashes and SQL punctuation as by any other', async () => {
    // What the route's identifier check lets through; quotes it refuses, and the store is tested with them below.
    const odd = ['back\\slash', '\\', 'x\\=1--', 'a|b/c~#', 'E\\x', '@=+-:.'];
    const rows = odd.map((userId, i) => activity({ startTime: at('2026-11-20T10:00:00Z') + i * 1000, userId }));
    await seed(db.knex, rows);
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    const app = reportApp(express, tracker, { capture: false });
    try {
      for (const [i, userId] of odd.entries()) {
        const res = await request(app).get(`${MOUNT}/export`).query({ userId }).set(bearer('aud-1', 'auditor')).buffer(true);
        expect([userId, res.status]).toEqual([userId, 200]);
        expect([userId, (parse(res.text) as string[][]).slice(1).map((r) => r[0])]).toEqual([userId, [rows[i]!.id]]);
      }
    } finally {
      await tracker.close();
    }
  });
});

(usingPostgres ? describe : describe.skip)('GET /export on PostgreSQL (COPY)', () => {
  it('sends one COPY, not pages, and the file has every row in order', async () => {
    const base = at('2026-11-01T00:00:00Z');
    const rows = Array.from({ length: 2500 }, (_, i) => activity({ startTime: base + Math.floor(i / 3) * 1000, entityId: String(i) }));
    await seed(db.knex, rows);
    const sent: string[] = [];
    const listen = (q: { sql: string }): void => { if (/user_activity/.test(q.sql) && !/^insert/i.test(q.sql)) sent.push(q.sql); };
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    await tracker.ready();
    db.knex.on('query', listen);
    try {
      const res = await request(reportApp(express, tracker, { capture: false })).get(`${MOUNT}/export?endDate=2026-11-02`).set(bearer('aud-1', 'auditor')).buffer(true);
      expect((parse(res.text) as string[][]).slice(1).map((r) => r[0])).toEqual([...rows].sort((a, b) => b.startTime - a.startTime || (a.id < b.id ? 1 : -1)).map((r) => r.id));
      expect(sent.filter((sql) => /^copy \(select /.test(sql))).toHaveLength(1);
      expect(sent.filter((sql) => /\blimit\b/.test(sql) && /from "user_activity"/.test(sql))).toEqual([]);
    } finally {
      db.knex.removeListener('query', listen);
      await tracker.close();
    }
  });

  it('treats a hostile filter value as data: quotes, backslashes and SQL in it select only the row that holds it', async () => {
    const hostile = ["'); drop table user_activity; --", "a'b", "back\\slash'", "\\'; select 1; --", "x' or '1'='1", '$1', '?', "E'x'", "''", '\u0027'];
    const rows = hostile.map((userId, i) => activity({ startTime: at('2026-11-20T10:00:00Z') + i * 1000, userId }));
    await seed(db.knex, rows);
    // The reader directly, below the route's parameter check, which would refuse the quotes.
    const reader = reports(db.knex, EVERY_TENANT, false);
    for (const [i, userId] of hostile.entries()) {
      const chunks: Buffer[] = [];
      await reader.exportCsv({ userId, activityTypes: ['data_view', "login') --" as never] }, 'asc', async (copied) => {
        for await (const chunk of copied) chunks.push(chunk);
      });
      expect([userId, (parse(Buffer.concat(chunks).toString('utf8')) as string[][]).map((r) => r[0])]).toEqual([userId, [rows[i]!.id]]);
    }
    expect(Number((await db.knex('user_activity').count({ n: '*' }))[0]!['n'])).toBe(hostile.length);
  });

  it('runs the COPY without JIT and hands the connection back with the server\'s own setting', async () => {
    // One connection, so the query after the export meets the connection the COPY ran on.
    const single = knexFactory({ client: 'pg', connection: db.url!, pool: { min: 0, max: 1 } });
    const copied = async (conn: Knex): Promise<string> => {
      const chunks: Buffer[] = [];
      await runCopy(single, conn, "copy (select current_setting('jit')) to stdout", async (rows) => {
        for await (const chunk of rows) chunks.push(chunk);
      });
      return Buffer.concat(chunks).toString('utf8');
    };
    const jit = async (conn: Knex): Promise<string> => ((await conn.raw("select current_setting('jit') as jit")) as { rows: Array<{ jit: string }> }).rows[0]!.jit;
    try {
      const before = await jit(single);
      expect(await copied(single)).toBe('off\n');
      expect(await jit(single)).toBe(before);
      // In a transaction (the tenant's path) it is the transaction's setting only.
      await single.transaction(async (trx) => {
        expect(await copied(trx)).toBe('off\n');
      });
      expect(await jit(single)).toBe(before);
    } finally {
      await single.destroy();
    }
  });

  it('cancels the COPY when the client goes away, and the connection serves the next export', async () => {
    const token = `gone-${randomBytes(4).toString('hex')}`;
    const base = at('2026-11-01T00:00:00Z');
    // About 24 MB of CSV: far more than the socket buffers hold, so PostgreSQL is still sending when the client leaves.
    await seed(db.knex, Array.from({ length: 4000 }, (_, i) => activity({ startTime: base + i * 1000, entityType: token, details: { padding: 'x'.repeat(6000) } })));
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    const server = http.createServer(reportApp(express, tracker, { capture: false }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const copies = async (): Promise<number> => Number(((await db.knex.raw(
      "select count(*) as n from pg_stat_activity where query like 'copy (%' and query like ? and state <> 'idle'", [`%${token}%`])) as { rows: Array<{ n: string }> }).rows[0]!.n);
    try {
      const { port } = server.address() as AddressInfo;
      const status = await new Promise<number | undefined>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: `${MOUNT}/export?entityType=${token}`, headers: bearer('aud-1', 'auditor') }, (res) => {
          res.once('data', () => { res.pause(); req.destroy(); resolve(res.statusCode); });
        });
      });
      expect(status).toBe(200);
      let left = await copies();
      for (let i = 0; i < 50 && left > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        left = await copies();
      }
      expect(left).toBe(0);
      const again = await request(server).get(`${MOUNT}/export?entityType=${token}&endDate=2026-11-01T00:00:05Z`).set(bearer('aud-1', 'auditor')).buffer(true);
      expect((parse(again.text) as string[][]).length).toBe(1 + 6);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await tracker.close();
    }
  });

  describe('a tenant reader under row-level security', () => {
    const role = `at_copy_reader_${randomBytes(4).toString('hex')}`;
    let reader: Knex;
    beforeAll(async () => {
      await db.knex.raw(`create role "${role}" login`);
      await db.knex.raw(`grant usage on schema "${db.schema!}" to "${role}"`);
      await db.knex.raw(`grant select on all tables in schema "${db.schema!}" to "${role}"`);
      await grantWriterRole(db.knex, role);
      await enableRowLevelSecurity(db.knex);
      const url = new URL(db.url!);
      url.username = role;
      url.password = '';
      reader = knexFactory({ client: 'pg', connection: url.toString(), pool: { min: 0, max: 3 } });
    });
    afterAll(async () => {
      await reader?.destroy();
      await disableRowLevelSecurity(db.knex);
      await db.knex.raw(`drop owned by "${role}"`);
      await db.knex.raw(`drop role "${role}"`);
    });

    const tenantRows = (): ActivityEvent[] => {
      const base = at('2026-11-20T10:00:00Z');
      return [
        activity({ startTime: base, tenantId: 'acme', ownerId: 'acme' }),
        activity({ startTime: base + 1000, tenantId: 'globex', ownerId: 'acme' }),
        activity({ startTime: base + 2000, tenantId: 'globex', ownerId: 'globex' }),
        activity({ startTime: base + 3000, tenantId: null, ownerId: null }),
      ];
    };

    it('exports only the tenant\'s rows, from a COPY inside the transaction that sets the tenant', async () => {
      const rows = tenantRows();
      await seed(db.knex, rows);
      const tracker = testTracker(reader, { jwtSecret: REPORT_SECRET, getTenantId: () => null, rowLevelSecurity: true, jobs: false });
      const seen: Array<{ sql: string; bindings: unknown[]; tx: unknown }> = [];
      const listen = (q: { sql: string; bindings?: unknown[]; __knexTxId?: unknown }): void => { seen.push({ sql: q.sql, bindings: q.bindings ?? [], tx: q.__knexTxId }); };
      await tracker.ready();
      reader.on('query', listen);
      try {
        const res = await request(reportApp(express, tracker, { capture: false })).get(`${MOUNT}/export?order=asc&endDate=2026-11-21`)
          .set({ Authorization: `Bearer ${tokenFor('aud', 'auditor', { tenantId: 'acme' })}` }).buffer(true);
        expect(res.status).toBe(200);
        expect((parse(res.text) as string[][]).slice(1).map((r) => r[0])).toEqual([rows[0]!.id, rows[1]!.id]);
      } finally {
        reader.removeListener('query', listen);
        await tracker.close();
      }
      const setting = seen.find((q) => /set_config/.test(q.sql));
      expect(setting?.bindings).toEqual(['activity_tracking.tenant_id', 'acme']);
      const copy = seen.filter((q) => /^copy /.test(q.sql));
      expect(copy).toHaveLength(1);
      expect(copy[0]!.tx).toBeDefined();
      expect(copy[0]!.tx).toBe(setting?.tx);
    });

    it('is held to the tenant by the policies alone, without the route\'s own filter', async () => {
      const rows = tenantRows();
      await seed(db.knex, rows);
      const chunks: Buffer[] = [];
      await readInTenant(reader, tenantOnly('globex'), true, (conn) => runCopy(reader, conn, exportCopySql(conn, EVERY_TENANT, {}, 'asc'), async (copied) => {
        for await (const chunk of copied) chunks.push(chunk);
      }));
      expect((parse(Buffer.concat(chunks).toString('utf8')) as string[][]).map((r) => r[0])).toEqual([rows[1]!.id, rows[2]!.id]);
    });
  });
});
