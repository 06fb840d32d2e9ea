import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { parse } from 'csv-parse/sync';
import { EXPRESS_VERSIONS, testTracker } from './support/app';
import { openTestDatabase, resetTables, usingPostgres, type TestDatabase } from './support/database';
import { activity, bearer, MOUNT, REPORT_SECRET, reportApp, seed, tokenFor } from './support/reports';
import { EXPORT_HEADER } from '../lib/store/columns';
import { EXPORT_PAGE_SIZE } from '../lib/store/reports/exportRows';
import { csvCell, neutralizeFormula } from '../lib/router/csv';
import type { ActivityEvent } from '../lib/types';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const HEADER = [...EXPORT_HEADER];
const at = (iso: string): number => Date.parse(iso);

/** The CSV body as records, refusing any record whose column count differs from the header's. */
function records(text: string): string[][] {
  return parse(text, { relax_column_count: false, bom: false }) as string[][];
}

/** A seeded event as the export should show it: one cell per EXPORT_HEADER field, JSON columns parsed back. */
function expectedRecord(e: ActivityEvent): Record<string, unknown> {
  const iso = (ms: number | null): string => (ms === null ? '' : new Date(ms).toISOString());
  const text = (v: string | number | null): string => (v === null ? '' : String(v));
  return {
    id: e.id, startTime: iso(e.startTime), endTime: iso(e.endTime), userId: text(e.userId), sessionId: text(e.sessionId),
    activityType: e.activityType, action: text(e.action), entityType: text(e.entityType), entityId: text(e.entityId),
    method: text(e.method), path: text(e.path), route: text(e.route), statusCode: text(e.statusCode), success: String(e.success),
    duration: text(e.duration), ipAddress: text(e.ipAddress), userAgent: text(e.userAgent), browser: text(e.browser),
    operatingSystem: text(e.operatingSystem), deviceInfo: e.deviceInfo, location: e.location, requestSize: text(e.requestSize),
    responseSize: text(e.responseSize), details: e.details,
    // The domain-event, tenant and risk columns: empty for a request.
    actorType: '', actorRole: '', actorName: '', category: '', severity: '', entityName: '', tenantId: '', ownerId: '', status: '', reason: '',
    changes: null, personalData: '', riskScore: '', riskFactors: null, anomaly: '',
  };
}

/** A parsed record keyed by the header, JSON columns parsed, createdAt dropped (the database sets it). */
function asObject(header: string[], record: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  header.forEach((name, i) => {
    const cell = record[i] ?? '';
    if (name === 'createdAt') return;
    out[name] = ['details', 'deviceInfo', 'location', 'changes', 'riskFactors'].includes(name) ? (cell === '' ? null : JSON.parse(cell)) : cell;
  });
  return out;
}

describe('CSV cells', () => {
  it('prefixes text a spreadsheet would evaluate with a single quote, and nothing else', () => {
    // Leading blanks and a trigger after a separator count too (hardeningSmall.test.ts has the whole class).
    for (const planted of ['=HYPERLINK("http://evil")', '+1+1', '-2', '@SUM(A1)', '\tx', '\rx', '\nx', ' =1', ';=1+1', '\uFF1D1+1', '\uFF0B1', '\uFF0D1', '\uFF20SUM(A1)']) {
      expect(neutralizeFormula(planted)).toBe(`'${planted}`);
    }
    for (const safe of ['/api/items/1', 'a=b', 'x-y', '', "'=already quoted"]) expect(neutralizeFormula(safe)).toBe(safe);
  });

  it('writes nulls empty, booleans as words, objects as JSON text (neutralized too), and keeps negative numbers numbers', () => {
    expect([null, undefined, true, false, -2, 0.5, { a: 1 }, ['=x']].map(csvCell)).toEqual(['', '', 'true', 'false', '-2', '0.5', '{"a":1}', '["=x"]']);
    expect(csvCell(new Date(at('2026-11-20T10:00:00Z')))).toBe('2026-11-20T10:00:00.000Z');
  });
});

describe.each(EXPRESS_VERSIONS)('GET /export (%s)', (_name, express) => {
  it('streams the filtered rows as a CSV download, newest first, every column of every row', async () => {
    const rows = [
      activity({ startTime: at('2026-11-20T09:00:00Z'), details: { query: { q: 'a,b "c"' } } }),
      activity({ startTime: at('2026-11-20T10:00:00Z'), userId: 'bob', sessionId: 'sess-b', activityType: 'login', action: 'login', entityType: null, entityId: null, method: 'POST', path: '/login', route: '/login' }),
      activity({ startTime: at('2026-11-20T11:00:00Z'), statusCode: 404, success: false, requestSize: 20, deviceInfo: null, location: null, duration: 25 }),
    ];
    await seed(db.knex, rows);
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    try {
      const res = await request(reportApp(express, tracker)).get(`${MOUNT}/export`).query({ userId: 'alice' }).set(bearer('aud-1', 'auditor')).buffer(true);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toMatch(/^attachment; filename="activity-export-\d{4}-\d{2}-\d{2}T\d{6}\.\d{3}Z\.csv"$/);
      expect(res.headers['cache-control']).toBe('no-store');
      const [header, ...body] = records(res.text);
      expect(header).toEqual(HEADER);
      expect(body.every((r) => r.length === HEADER.length)).toBe(true);
      // bob's row is filtered out; alice's two rows come newest first.
      expect(body.map((r) => asObject(HEADER, r))).toEqual([expectedRecord(rows[2]!), expectedRecord(rows[0]!)]);
      for (const r of body) expect(Number.isNaN(Date.parse(r[HEADER.indexOf('createdAt')]!))).toBe(false);
    } finally {
      await tracker.close();
    }
  });

  it('applies the /activities filters and the order', async () => {
    const rows = [
      activity({ startTime: at('2026-11-19T10:00:00Z'), activityType: 'login', ipAddress: '198.51.100.1' }),
      activity({ startTime: at('2026-11-20T10:00:00Z'), activityType: 'login_failed', success: false, ipAddress: '198.51.100.1' }),
      activity({ startTime: at('2026-11-21T10:00:00Z'), activityType: 'data_view', ipAddress: '198.51.100.2' }),
      activity({ startTime: at('2026-11-22T10:00:00Z'), activityType: 'login', userId: 'bob', sessionId: 'sess-b', entityId: '2' }),
    ];
    await seed(db.knex, rows);
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    const app = reportApp(express, tracker);
    const ids = async (query: Record<string, string>): Promise<string[]> => {
      const res = await request(app).get(`${MOUNT}/export`).query(query).set(bearer('aud-1', 'auditor')).buffer(true);
      expect(res.status).toBe(200);
      return records(res.text).slice(1).map((r) => r[0]!);
    };
    try {
      const id = (i: number): string => rows[i]!.id;
      expect(await ids({ activityType: 'login,login_failed', order: 'asc' })).toEqual([id(0), id(1), id(3)]);
      expect(await ids({ success: 'false' })).toEqual([id(1)]);
      expect(await ids({ ipAddress: '198.51.100.1' })).toEqual([id(1), id(0)]);
      expect(await ids({ startDate: '2026-11-20', endDate: '2026-11-21T10:00:00Z' })).toEqual([id(2), id(1)]);
      expect(await ids({ userId: 'bob', entityType: 'items', entityId: '2', sessionId: 'sess-b' })).toEqual([id(3)]);
      expect(await ids({ userId: 'nobody' })).toEqual([]);
    } finally {
      await tracker.close();
    }
  });

  it('neutralizes formulas planted in any text column', async () => {
    const planted = ['=HYPERLINK("http://evil")', '+1+1', '-2', '@SUM(A1)', '\tx', '\rx'];
    await seed(db.knex, planted.map((text, i) => activity({ startTime: at('2026-11-20T10:00:00Z') + i * 1000, entityId: text, path: text, userAgent: text })));
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    try {
      const res = await request(reportApp(express, tracker)).get(`${MOUNT}/export?order=asc`).set(bearer('aud-1', 'auditor')).buffer(true);
      expect(res.status).toBe(200);
      const [header, ...body] = records(res.text);
      expect(body).toHaveLength(planted.length);
      const cells = (name: string): string[] => body.map((r) => r[header!.indexOf(name)]!);
      const quoted = planted.map((text) => `'${text}`);
      expect(cells('entityId')).toEqual(quoted);
      expect(cells('path')).toEqual(quoted);
      expect(cells('userAgent')).toEqual(quoted);
      // Untouched text stays as stored.
      expect(cells('route')).toEqual(planted.map(() => '/api/items/:id'));
    } finally {
      await tracker.close();
    }
  });

  // Paging is the embedded database's way; PostgreSQL sends one COPY (reportExportCopy.test.ts checks it, and its cancel).
  const embeddedOnly = usingPostgres ? it.skip : it;

  embeddedOnly('exports thousands of rows completely and in order, a page per query', async () => {
    // Three rows per millisecond, so ties on start_time straddle the page boundaries and only the id orders them.
    const base = at('2026-11-01T00:00:00Z');
    const rows = Array.from({ length: 2 * EXPORT_PAGE_SIZE + 600 }, (_, i) => activity({ startTime: base + Math.floor(i / 3) * 1000, entityId: String(i) }));
    await seed(db.knex, rows);
    const newestFirst = [...rows].sort((a, b) => b.startTime - a.startTime || (a.id < b.id ? 1 : -1)).map((r) => r.id);

    const pageQueries: string[] = [];
    const listen = (q: { sql: string }): void => { if (/from "user_activity"/.test(q.sql) && /limit/.test(q.sql)) pageQueries.push(q.sql); };
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    const app = reportApp(express, tracker, { capture: false });
    db.knex.on('query', listen);
    try {
      const desc = await request(app).get(`${MOUNT}/export`).set(bearer('aud-1', 'auditor')).buffer(true);
      expect(desc.status).toBe(200);
      const body = records(desc.text).slice(1);
      expect(body.map((r) => r[0])).toEqual(newestFirst);
      expect(pageQueries).toHaveLength(3);

      // Bounded in time: the first export's own trail row is on the table by now.
      const asc = await request(app).get(`${MOUNT}/export?order=asc&endDate=2026-11-02`).set(bearer('aud-1', 'auditor')).buffer(true);
      expect(records(asc.text).slice(1).map((r) => r[0])).toEqual([...newestFirst].reverse());
    } finally {
      db.knex.removeListener('query', listen);
      await tracker.close();
    }
  });

  embeddedOnly('stops reading pages when the client goes away', async () => {
    const base = at('2026-11-01T00:00:00Z');
    // Pages of about 6 MB: more than the loopback socket buffers hold, so the server must wait for the client.
    const pages = 4;
    await seed(db.knex, Array.from({ length: pages * EXPORT_PAGE_SIZE }, (_, i) => activity({ startTime: base + i * 1000, details: { padding: 'x'.repeat(6000) } })));
    let pageQueries = 0;
    const listen = (q: { sql: string }): void => { if (/from "user_activity"/.test(q.sql) && /limit/.test(q.sql)) pageQueries++; };
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    const server = http.createServer(reportApp(express, tracker, { capture: false }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    db.knex.on('query', listen);
    try {
      const { port } = server.address() as AddressInfo;
      const status = await new Promise<number | undefined>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: `${MOUNT}/export`, headers: bearer('aud-1', 'auditor') }, (res) => {
          // One chunk read, then the client hangs up without reading the rest.
          res.once('data', () => { res.pause(); req.destroy(); resolve(res.statusCode); });
        });
      });
      expect(status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(pageQueries).toBeGreaterThanOrEqual(1);
      expect(pageQueries).toBeLessThan(pages);
    } finally {
      db.knex.removeListener('query', listen);
      await new Promise((resolve) => server.close(resolve));
      await tracker.close();
    }
  });

  it('puts the export on the trail as audit_export with the caller and the filters', async () => {
    await seed(db.knex, [activity({ startTime: at('2026-11-20T10:00:00Z'), activityType: 'login' })]);
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    try {
      const res = await request(reportApp(express, tracker)).get(`${MOUNT}/export`)
        .query({ activityType: 'login', startDate: '2026-11-01', order: 'asc' }).set(bearer('aud-7', 'auditor')).buffer(true);
      expect(res.status).toBe(200);
      expect(records(res.text)).toHaveLength(2);
      await tracker.flush();
      const trail = await db.knex('user_activity').where({ activity_type: 'audit_export' }).select('user_id', 'action', 'details');
      expect(trail).toHaveLength(1);
      expect(trail[0]).toMatchObject({
        user_id: 'aud-7',
        action: 'report.export',
        details: { custom: { route: `${MOUNT}/export`, role: 'auditor', filters: { activityTypes: ['login'], startDate: '2026-11-01T00:00:00.000Z', order: 'asc' } } },
      });
    } finally {
      await tracker.close();
    }
  });

  it('allows a user a limited number of exports per window, each user separately', async () => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, exportRateLimit: { max: 2, windowMs: 60_000 } });
    const app = reportApp(express, tracker, { capture: false });
    try {
      for (let i = 0; i < 2; i++) expect((await request(app).get(`${MOUNT}/export`).set(bearer('u1', 'auditor'))).status).toBe(200);
      const limited = await request(app).get(`${MOUNT}/export`).set(bearer('u1', 'auditor'));
      expect(limited.status).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(limited.body.error.code).toBe('ERR_AT_RATE_LIMITED');
      expect((await request(app).get(`${MOUNT}/export`).set(bearer('u2', 'auditor'))).status).toBe(200);
    } finally {
      await tracker.close();
    }
  });

  it('refuses callers without a reader role and parameters it does not know', async () => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    const app = reportApp(express, tracker, { capture: false });
    try {
      expect((await request(app).get(`${MOUNT}/export`).set('Authorization', `Bearer ${tokenFor('u1', 'user')}`)).status).toBe(403);
      expect((await request(app).get(`${MOUNT}/export`)).status).toBe(401);
      const unknown = await request(app).get(`${MOUNT}/export?limit=10`).set(bearer('aud-1', 'auditor'));
      expect(unknown.status).toBe(400);
      expect(unknown.body.error).toMatchObject({ code: 'ERR_AT_UNKNOWN_PARAM', param: 'limit' });
      const order = await request(app).get(`${MOUNT}/export?order=sideways`).set(bearer('aud-1', 'auditor'));
      expect(order.status).toBe(400);
      expect(order.body.error).toMatchObject({ code: 'ERR_AT_INVALID_PARAM', param: 'order' });
      const date = await request(app).get(`${MOUNT}/export?startDate=yesterday`).set(bearer('aud-1', 'auditor'));
      expect(date.body.error).toMatchObject({ code: 'ERR_AT_INVALID_PARAM', param: 'startDate' });
    } finally {
      await tracker.close();
    }
  });

  it('answers a query that fails before the first byte with a JSON 500, not a broken file', async () => {
    const tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    await tracker.ready();
    const app = reportApp(express, tracker, { capture: false });
    await db.knex.raw('alter table user_activity rename to user_activity_away');
    try {
      const res = await request(app).get(`${MOUNT}/export`).set(bearer('aud-1', 'auditor'));
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['content-disposition']).toBeUndefined();
      expect(res.body.error.code).toBe('ERR_AT_INTERNAL');
    } finally {
      await db.knex.raw('alter table user_activity_away rename to user_activity');
      await tracker.close();
    }
  });
});
