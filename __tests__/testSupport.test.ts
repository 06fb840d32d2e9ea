import express from 'express';
import { Client } from 'pg';
import { startPgProxy, type PgProxy } from './support/pgProxy';
import { burst, listen, startTraffic } from './support/traffic';

const describeOnPostgres = process.env['DATABASE_URL'] ? describe : describe.skip;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeOnPostgres('pgProxy', () => {
  let proxy: PgProxy;
  const clients: Client[] = [];
  beforeEach(async () => { proxy = await startPgProxy(process.env['DATABASE_URL']!); });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
    await proxy.close();
  });

  async function connect(): Promise<Client> {
    const client = new Client({ connectionString: proxy.url, connectionTimeoutMillis: 5000 });
    client.on('error', () => undefined); // a cut connection is reported here as well as to the pending query
    clients.push(client);
    await client.connect();
    return client;
  }

  async function timed<T>(fn: () => Promise<T>): Promise<number> {
    const started = performance.now();
    await fn();
    return performance.now() - started;
  }

  test('forwards queries', async () => {
    const client = await connect();
    const { rows } = await client.query('select 1 + 1 as two');
    expect(rows).toEqual([{ two: 2 }]);
    expect(proxy.connectionsAccepted).toBe(1);
  });

  test('url keeps the target URL path and query string', async () => {
    const target = new URL(process.env['DATABASE_URL']!);
    target.searchParams.set('options', '-c search_path=proxy_probe');
    const probe = await startPgProxy(target.toString());
    try {
      const url = new URL(probe.url);
      expect([url.hostname, url.port, url.pathname, url.search]).toEqual(['127.0.0.1', String(probe.port), target.pathname, target.search]);
      const client = new Client({ connectionString: probe.url });
      await client.connect();
      try {
        expect((await client.query('show search_path')).rows).toEqual([{ search_path: 'proxy_probe' }]);
      } finally { await client.end(); }
    } finally { await probe.close(); }
  });

  test('cut() fails open and new connections fast, restore() lets new ones through', async () => {
    const client = await connect();
    const pending = client.query('select pg_sleep(5)');
    await sleep(50);
    const started = performance.now();
    proxy.cut();
    await expect(pending).rejects.toThrow();
    await expect(connect()).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(proxy.connectionsAccepted).toBe(1);

    proxy.restore();
    const again = await connect();
    expect((await again.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    expect(proxy.connectionsAccepted).toBe(2);
  });

  test('setDelay() holds client→server traffic, and 0 lifts it on an open connection', async () => {
    const client = await connect();
    proxy.setDelay(300);
    expect(await timed(() => client.query('select 1'))).toBeGreaterThanOrEqual(295); // timers have ~1 ms granularity
    proxy.setDelay(0);
    expect(await timed(() => client.query('select 1'))).toBeLessThan(150);
  });

  test('close() drops open connections and stops listening', async () => {
    const client = await connect();
    const ended = new Promise((resolve) => client.once('end', resolve));
    await proxy.close();
    await ended;
    await expect(connect()).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('traffic', () => {
  const seen: number[] = [];
  const app = express();
  app.use((req, res) => { seen.push(Number(req.get('x-traffic-seq'))); res.send('ok'); });
  let server: { url: string; close(): Promise<void> };
  beforeAll(async () => { server = await listen(app); });
  afterAll(async () => { await server.close(); });
  beforeEach(() => { seen.length = 0; });

  test('startTraffic() keeps the asked rate and tags each request once', async () => {
    const traffic = startTraffic(server.url, { ratePerSecond: 400, path: (i) => `/item/${i}` });
    await sleep(2000);
    const result = await traffic.stop();
    expect(result.sent).toBeGreaterThanOrEqual(720);
    expect(result.sent).toBeLessThanOrEqual(880);
    expect(result).toEqual({ sent: result.sent, completed: result.sent, failed: 0, statusCounts: { 200: result.sent }, errors: {} });
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: result.sent }, (_, i) => i));
  });

  test('burst() completes every request', async () => {
    const result = await burst(server.url, { count: 500, concurrency: 50 });
    expect(result).toEqual({ sent: 500, completed: 500, failed: 0, statusCounts: { 200: 500 }, errors: {} });
    expect(new Set(seen).size).toBe(500);
  });
});
