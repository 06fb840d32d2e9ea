/**
 * The routes the console reads through, besides the report routes it shares: who the caller is,
 * one activity with its chain link, keyset paging, the live stream, verification runs, and the
 * cross-origin refusal of state-changing calls when the caller is known by a cookie.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { EXPRESS_VERSIONS, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, bearer, MOUNT, REPORT_SECRET, reportApp, seed, tokenFor } from './support/reports';
import { crossOriginRefusal } from '../lib/router/crossOrigin';
import type { ActivityTracker } from '../lib/tracker';
import type { Options } from '../lib/types';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const minute = (n: number) => Date.UTC(2026, 10, 20, 10, n);
const [, express5] = EXPRESS_VERSIONS[1];

describe('GET /console/session', () => {
  let tracker: ActivityTracker;
  beforeEach(() => { tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET }); });
  afterEach(async () => { await tracker.close(); });

  it.each([
    ['auditor', {}, { reader: true, admin: false, platform: false }],
    ['admin', {}, { reader: true, admin: true, platform: true }],
    ['admin', { tenantId: 'acme' }, { reader: true, admin: true, platform: false }],
    ['system_admin', { tenantId: 'acme' }, { reader: true, admin: true, platform: true }],
    ['member', {}, { reader: false, admin: false, platform: false }],
  ])('tells a %s (%j) which views it may open', async (role, claims, access) => {
    const response = await request(reportApp(express5, tracker)).get(`${MOUNT}/console/session`)
      .set('Authorization', `Bearer ${tokenFor('u-1', role, claims)}`).expect(200);
    expect(response.body.data).toEqual({ userId: 'u-1', role, tenantId: (claims as { tenantId?: string }).tenantId ?? null, access });
  });

  it('answers 401 without a caller', async () => {
    const response = await request(reportApp(express5, tracker)).get(`${MOUNT}/console/session`).expect(401);
    expect(response.body.error.code).toBe('ERR_AT_UNAUTHENTICATED');
  });
});

describe('keyset paging of GET /activities', () => {
  let tracker: ActivityTracker;
  beforeEach(() => { tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET }); });
  afterEach(async () => { await tracker.close(); });

  const list = (query: string) => request(reportApp(express5, tracker, { capture: false })).get(`${MOUNT}/activities?${query}`).set(bearer('a-1', 'auditor'));

  async function walk(query: string, limit: number): Promise<string[]> {
    const ids: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const response: request.Response = await list(`${query}&limit=${limit}${after === null ? '' : `&after=${encodeURIComponent(after)}`}`).expect(200);
      ids.push(...response.body.data.map((row: { id: string }) => row.id));
      after = response.body.pagination.nextCursor;
      if (after === null) return ids;
    }
    throw new Error('the cursor never ended');
  }

  it('walks every row once, in the order one big page has, in both directions and by created time', async () => {
    // Five rows at each of five instants: ties are broken by id, across page boundaries.
    await seed(db.knex, Array.from({ length: 25 }, (_, i) => activity({ startTime: minute(Math.floor(i / 5)), userId: `u${i}` })));
    // Each read is put on the trail as it happens: the filter leaves those rows out.
    for (const sort of ['orderBy=startTime&order=desc', 'orderBy=startTime&order=asc', 'orderBy=createdAt&order=desc', 'orderBy=createdAt&order=asc']) {
      const query = `activityType=data_view&${sort}`;
      const all = (await list(`${query}&limit=100`).expect(200)).body.data.map((row: { id: string }) => row.id);
      expect(all).toHaveLength(25);
      expect(await walk(query, 4)).toEqual(all);
    }
  });

  it('keeps microseconds in the cursor: rows a millisecond apart from none are neither skipped nor repeated', async () => {
    await db.knex.raw(`insert into user_activity (id, activity_type, start_time, success, chain_position, prev_hash, row_hash)
      select (lpad(to_hex(n), 8, '0') || '-0000-7000-8000-000000000000')::uuid, 'page_view', timestamptz '2026-01-01' + (n % 7) * interval '1 microsecond', true, n, '', ''
      from generate_series(1, 30) as n`);
    const all = (await list('activityType=page_view&limit=100').expect(200)).body.data.map((row: { id: string }) => row.id);
    expect(all).toHaveLength(30);
    expect(await walk('activityType=page_view&orderBy=startTime&order=desc', 3)).toEqual(all);
  });

  it('refuses a cursor it did not make, one made for another sort, and one given with an offset, naming the parameter', async () => {
    await seed(db.knex, [activity({ startTime: minute(1) }), activity({ startTime: minute(2) })]);
    const first = await list('limit=1').expect(200);
    const cursor = encodeURIComponent(first.body.pagination.nextCursor);
    expect((await list(`after=not-a-cursor`).expect(400)).body.error).toMatchObject({ code: 'ERR_AT_INVALID_PARAM', param: 'after' });
    expect((await list(`after=${cursor}&order=asc`).expect(400)).body.error.message).toMatch(/made for orderBy=startTime&order=desc/);
    expect((await list(`after=${cursor}&offset=1`).expect(400)).body.error.param).toBe('offset');
    expect((await list(`after=${cursor}`).expect(200)).body.data).toHaveLength(1);
  });
});

describe('GET /activities/:id', () => {
  let tracker: ActivityTracker;
  beforeEach(() => { tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET }); });
  afterEach(async () => { await tracker.close(); });

  it('answers one row of the scope with its chain link, and 404 for another tenant\'s', async () => {
    const acme = activity({ startTime: minute(1), tenantId: 'acme', details: { note: 'kept' } });
    const globex = activity({ startTime: minute(2), tenantId: 'globex' });
    await seed(db.knex, [acme, globex]);
    const app = reportApp(express5, tracker, { capture: false });
    const stored = await db.knex('user_activity').where('id', acme.id).first();
    const response = await request(app).get(`${MOUNT}/activities/${acme.id}`).set('Authorization', `Bearer ${tokenFor('a-1', 'auditor', { tenantId: 'acme' })}`).expect(200);
    expect(response.body.data).toMatchObject({ id: acme.id, tenantId: 'acme', details: { note: 'kept' } });
    expect(response.body.data.chain).toEqual({ position: Number(stored.chain_position), prevHash: stored.prev_hash, rowHash: stored.row_hash, hashVersion: 3 });
    expect(response.body.data.chain.rowHash).toMatch(/^[0-9a-f]{64}$/);
    const other = await request(app).get(`${MOUNT}/activities/${globex.id}`).set('Authorization', `Bearer ${tokenFor('a-1', 'auditor', { tenantId: 'acme' })}`).expect(404);
    expect(other.body.error.code).toBe('ERR_AT_NOT_FOUND');
    expect((await request(app).get(`${MOUNT}/activities/x1`).set(bearer('a-1', 'auditor')).expect(400)).body.error.param).toBe('id');
    await request(app).get(`${MOUNT}/activities/${acme.id}`).set(bearer('m-1', 'member')).expect(403);
  });
});

/** An open event stream: the events it got so far, and how to close it. */
interface Stream { status: number; events: Array<{ event: string; data: unknown }>; body: string; ended: boolean; close(): void }

function openStream(port: number, path: string, token: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: `${MOUNT}${path}`, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      const stream: Stream = { status: res.statusCode ?? 0, events: [], body: '', ended: false, close: () => { req.destroy(); } };
      res.on('end', () => { stream.ended = true; });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        stream.body += chunk;
        const blocks = stream.body.split('\n\n');
        stream.body = blocks.pop() ?? '';
        for (const block of blocks) {
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event && data) stream.events.push({ event, data: JSON.parse(data) });
        }
      });
      res.on('error', () => {});
      resolve(stream);
    });
    req.on('error', (error) => { if (!req.destroyed) reject(error); });
  });
}

async function until<T>(read: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('GET /live', () => {
  let tracker: ActivityTracker;
  let server: http.Server;
  let port: number;
  const streams: Stream[] = [];
  beforeEach(async () => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET, liveStreams: { perUser: 2, pollMs: 100 } });
    server = http.createServer(reportApp(express5, tracker, { capture: false }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    await new Promise((resolve) => server.close(resolve));
    await tracker.close();
  });

  it('sends the rows of the scope stored after it opened, once each and in chain order, and no other tenant\'s', async () => {
    await seed(db.knex, [activity({ startTime: minute(0), tenantId: 'acme', userId: 'before' })]);
    const acme = await openStream(port, '/live', tokenFor('a-1', 'auditor', { tenantId: 'acme' }));
    const every = await openStream(port, '/live?activityType=data_update', tokenFor('root', 'system_admin'));
    streams.push(acme, every);
    expect(acme.status).toBe(200);
    await until(() => (acme.events[0] && every.events[0] ? true : undefined));
    expect(acme.events[0]).toEqual({ event: 'ready', data: { position: expect.any(Number) } });

    const stored = [
      activity({ startTime: minute(1), tenantId: 'acme', userId: 'ann' }),
      activity({ startTime: minute(2), tenantId: 'globex', userId: 'gus', activityType: 'data_update' }),
      activity({ startTime: minute(3), tenantId: 'acme', userId: 'amy', activityType: 'data_update' }),
    ];
    await seed(db.knex, stored.slice(0, 2));
    await seed(db.knex, stored.slice(2));
    const acmeRows = await until(() => (acme.events.length >= 3 ? acme.events.slice(1) : undefined));
    const everyRows = await until(() => (every.events.length >= 3 ? every.events.slice(1) : undefined));
    await new Promise((r) => setTimeout(r, 400));
    expect(acme.events.slice(1).map((e) => (e.data as { userId: string }).userId)).toEqual(['ann', 'amy']);
    expect(acmeRows.every((e) => e.event === 'activity')).toBe(true);
    expect(every.events.slice(1).map((e) => (e.data as { userId: string }).userId)).toEqual(['gus', 'amy']);
    const positions = everyRows.map((e) => (e.data as { chainPosition: number }).chainPosition);
    expect(positions[1]).toBeGreaterThan(positions[0] as number);
  });

  it('lets a user hold liveStreams.perUser streams, refuses one more with 429, and counts a closed one out', async () => {
    const token = tokenFor('a-2', 'auditor');
    const first = await openStream(port, '/live', token);
    const second = await openStream(port, '/live', token);
    streams.push(first, second);
    const third = await openStream(port, '/live', token);
    streams.push(third);
    expect([first.status, second.status, third.status]).toEqual([200, 200, 429]);
    await until(() => (third.body.includes('ERR_AT_TOO_MANY_STREAMS') ? true : undefined));
    // Another user is not held to this one's streams.
    const other = await openStream(port, '/live', tokenFor('a-3', 'auditor'));
    streams.push(other);
    expect(other.status).toBe(200);
    first.close();
    // The server counts the stream out when it sees the connection close.
    let reopened: Stream | undefined;
    for (let i = 0; i < 50 && reopened?.status !== 200; i++) {
      reopened?.close();
      await new Promise((r) => setTimeout(r, 50));
      reopened = await openStream(port, '/live', token);
      streams.push(reopened);
    }
    expect(reopened?.status).toBe(200);
  });

  it('ends when the tracker closes, so an open console never holds up the app\'s shutdown', async () => {
    const stream = await openStream(port, '/live', tokenFor('a-5', 'auditor'));
    streams.push(stream);
    await until(() => stream.events[0]);
    expect(stream.ended).toBe(false);
    await tracker.close();
    await until(() => (stream.ended ? true : undefined), 3000);
  });

  it('goes on after the row a reconnecting client names in Last-Event-ID', async () => {
    const rows = [activity({ startTime: minute(1), userId: 'one' }), activity({ startTime: minute(2), userId: 'two' })];
    await seed(db.knex, rows);
    const first = await db.knex('user_activity').where('id', rows[0]?.id).first();
    const stream = await new Promise<Stream>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: `${MOUNT}/live`, headers: { Authorization: `Bearer ${tokenFor('a-4', 'auditor')}`, 'Last-Event-ID': String(first.chain_position) } }, (res) => {
        const s: Stream = { status: res.statusCode ?? 0, events: [], body: '', ended: false, close: () => { req.destroy(); } };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => { s.body += chunk; });
        res.on('error', () => {});
        resolve(s);
      });
    });
    streams.push(stream);
    await until(() => (stream.body.includes('"userId":"two"') ? true : undefined));
    expect(stream.body).not.toContain('"userId":"one"');
  });
});

describe('verification runs', () => {
  let tracker: ActivityTracker;
  afterEach(async () => { await tracker.close(); });

  it('runs in the background with progress, ends with the chain\'s result, and puts it on the trail', async () => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    await seed(db.knex, Array.from({ length: 30 }, (_, i) => activity({ startTime: minute(i) })));
    const app = reportApp(express5, tracker, { capture: false });
    const started = await request(app).post(`${MOUNT}/integrity/runs`).set(bearer('root', 'system_admin')).send({}).expect(202);
    expect(started.body.data).toMatchObject({ status: 'running', userId: 'root', headPosition: 30, finishedAt: null });
    const id = started.body.data.id as string;
    let done: { status: string; result: { headHash: string } } | undefined;
    for (let i = 0; i < 200 && done === undefined; i++) {
      const run = await request(app).get(`${MOUNT}/integrity/runs/${id}`).set(bearer('root', 'system_admin')).expect(200);
      if (run.body.data.status !== 'running') done = run.body.data;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(done).toMatchObject({ status: 'done', rowsChecked: 30, position: 30, headPosition: 30, result: { ok: true, rowsChecked: 30, verifiedFrom: 1, verifiedTo: 30 } });
    await tracker.flush();
    const listed = await request(app).get(`${MOUNT}/integrity/runs`).set(bearer('root', 'system_admin')).expect(200);
    expect(listed.body.data.current).toBeNull();
    expect(listed.body.data.recent[0]).toMatchObject({ runId: id, userId: 'root', status: 'done', ok: true, rowsChecked: 30, headHash: done?.result.headHash });

    await request(app).post(`${MOUNT}/integrity/runs`).set(bearer('a-1', 'auditor')).send({}).expect(403);
    await request(app).post(`${MOUNT}/integrity/runs`).set('Authorization', `Bearer ${tokenFor('t-1', 'admin', { tenantId: 'acme' })}`).send({}).expect(403);
    expect((await request(app).post(`${MOUNT}/integrity/runs`).set(bearer('root', 'system_admin')).send({ other: 1 }).expect(400)).body.error.param).toBe('other');
    await request(app).get(`${MOUNT}/integrity/runs/00000000-0000-7000-8000-000000000000`).set(bearer('root', 'system_admin')).expect(404);
  });
});

describe('state-changing calls when the caller is known by a cookie', () => {
  let tracker: ActivityTracker;
  afterEach(async () => { await tracker.close(); });

  const cookieAuthorize: Options['authorize'] = (req) => {
    const cookie = String((req as { headers: Record<string, unknown> }).headers['cookie'] ?? '');
    return cookie.includes('signed-in=root') ? { userId: 'root', role: 'system_admin' } : null;
  };

  it('refuses a cross-site or other-origin POST with 403, and takes one from the same origin or from no browser', async () => {
    tracker = testTracker(db.knex, { authorize: cookieAuthorize });
    const app = reportApp(express5, tracker, { capture: false });
    const post = () => request(app).post(`${MOUNT}/integrity/runs`).set('Cookie', 'signed-in=root').set('Host', 'app.example').send({});
    const waitForRun = async (): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const listed = await request(app).get(`${MOUNT}/integrity/runs`).set('Cookie', 'signed-in=root');
        if (listed.body.data.current === null) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const crossSite = await post().set('Sec-Fetch-Site', 'cross-site').expect(403);
    expect(crossSite.body.error.code).toBe('ERR_AT_CROSS_ORIGIN');
    await post().set('Sec-Fetch-Site', 'same-site').expect(403);
    await post().set('Origin', 'https://evil.example').expect(403);
    await post().set('Origin', 'null').expect(403);
    await post().set('Sec-Fetch-Site', 'same-origin').set('Origin', 'https://app.example').expect(202);
    await waitForRun();
    await post().set('Origin', 'https://app.example').expect(202);
    await waitForRun();
    await post().expect(202);
    await waitForRun();
    // Three runs were let through, and each ended on the trail.
    await tracker.flush();
    const verified = await db.knex('user_activity').where('action', 'integrity.verified').count({ n: '*' }).first();
    expect(Number(verified?.['n'])).toBe(3);
  });

  it('does not check bearer-token callers: no browser sends a token by itself', async () => {
    tracker = testTracker(db.knex, { jwtSecret: REPORT_SECRET });
    await request(reportApp(express5, tracker, { capture: false })).post(`${MOUNT}/integrity/runs`).set(bearer('root', 'system_admin')).set('Sec-Fetch-Site', 'cross-site').send({}).expect(202);
  });

  it.each([
    ['GET', 'cross-site', undefined, null],
    ['POST', 'same-origin', undefined, null],
    ['POST', 'none', undefined, null],
    ['POST', 'cross-site', 'https://app.example', 'cross-site'],
    ['POST', undefined, 'https://APP.example', null],
    ['POST', undefined, 'https://app.example:8443', 'another origin'],
    ['POST', undefined, 'not a url', 'another origin'],
    ['POST', undefined, undefined, null],
  ])('%s with Sec-Fetch-Site %s and Origin %s: %s', (method, site, origin, refused) => {
    const refusal = crossOriginRefusal(method as string, site, origin, 'app.example');
    if (refused === null) expect(refusal).toBeNull();
    else expect(refusal).toContain(refused);
  });
});
