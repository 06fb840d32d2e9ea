import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

/** `completed` counts responses received, whatever their status (see statusCounts); `failed` counts requests that got none. */
export interface TrafficResult { sent: number; completed: number; failed: number; statusCounts: Record<number, number>; errors: Record<string, number> }

export interface Traffic {
  /** Resolves when stopped and every request in flight has settled. */
  stop(): Promise<TrafficResult>;
  readonly sent: number;
}

interface RequestOptions { method?: string; headers?: Record<string, string> }

function emptyResult(): TrafficResult {
  return { sent: 0, completed: 0, failed: 0, statusCounts: {}, errors: {} };
}

/** Sends one request carrying x-traffic-seq and records its outcome; never rejects. */
function send(agent: http.Agent, url: string, seq: number, options: RequestOptions, result: TrafficResult): Promise<void> {
  result.sent++;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (status?: number, error?: unknown) => {
      if (settled) return;
      settled = true;
      if (status === undefined) {
        // Why a request got no answer, for the failure message.
        const code = (error as NodeJS.ErrnoException | undefined)?.code ?? (error instanceof Error ? error.message : 'closed without a response');
        result.errors[code] = (result.errors[code] ?? 0) + 1;
      }
      if (status === undefined) result.failed++;
      else { result.completed++; result.statusCounts[status] = (result.statusCounts[status] ?? 0) + 1; }
      resolve();
    };
    const req = http.request(url, { agent, method: options.method ?? 'GET', headers: { ...options.headers, 'x-traffic-seq': String(seq) } }, (res) => {
      res.on('end', () => settle(res.statusCode));
      res.on('error', (error) => settle(undefined, error));
      res.on('close', () => settle(res.complete ? res.statusCode : undefined));
      res.resume();
    });
    req.on('error', (error) => settle(undefined, error));
    req.end();
  });
}

/**
 * Sends ratePerSecond requests a second to baseUrl + path(i), each with header x-traffic-seq: i, until stop().
 * Each 10 ms tick sends however many are due by the elapsed time, so a late tick catches up instead of lowering the rate.
 */
export function startTraffic(
  baseUrl: string,
  options: { ratePerSecond: number; path?: (i: number) => string; method?: string; headers?: Record<string, string> },
): Traffic {
  const path = options.path ?? (() => '/');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const result = emptyResult();
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  const tick = () => {
    const due = Math.floor(((performance.now() - started) * options.ratePerSecond) / 1000);
    while (result.sent < due) {
      const seq = result.sent;
      const request = send(agent, baseUrl + path(seq), seq, options, result);
      inFlight.add(request);
      void request.then(() => inFlight.delete(request));
    }
  };
  const timer = setInterval(tick, 10);
  return {
    get sent() { return result.sent; },
    stop: async () => {
      clearInterval(timer);
      await Promise.all(inFlight);
      agent.destroy();
      return { ...result, statusCounts: { ...result.statusCounts } };
    },
  };
}

/** Sends count requests (x-traffic-seq: 0 .. count-1) as fast as concurrency allows. */
export async function burst(baseUrl: string, options: { count: number; concurrency: number; path?: (i: number) => string }): Promise<TrafficResult> {
  const path = options.path ?? (() => '/');
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const result = emptyResult();
  let next = 0;
  const worker = async () => {
    while (next < options.count) {
      const seq = next++;
      await send(agent, baseUrl + path(seq), seq, {}, result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.count) }, worker));
  agent.destroy();
  return result;
}

/** Serves app on 127.0.0.1 at a free port. */
export function listen(app: Express | ((req: any, res: any) => void)): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(app as http.RequestListener);
  // Longer than any pause in the tests' traffic: a server closing an idle keep-alive socket just as
  // the client reuses it fails that request with ECONNRESET, a race of the test's client, not the app.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 61_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done, fail) => {
          server.close((error) => (error ? fail(error) : done()));
          server.closeAllConnections();
        }),
      });
    });
  });
}
