import net from 'node:net';

export interface PgProxy {
  /** targetUrl with host and port pointing at the proxy; path and query string kept. */
  url: string;
  port: number;
  /** Destroys every open connection at once and refuses new ones (accepted, then reset at once) until restore(). */
  cut(): void;
  /** Accepts and forwards again. */
  restore(): void;
  /** Holds every client→server chunk this many ms before forwarding it (0 = none), on open and new connections alike. */
  setDelay(ms: number): void;
  /** Connections accepted and forwarded so far; those refused while cut are not counted. */
  readonly connectionsAccepted: number;
  close(): Promise<void>;
}

interface Link { client: net.Socket; upstream: net.Socket; drop(): void }

/** A TCP proxy in front of PostgreSQL, so a test can cut, slow and restore "the database" without touching the shared server. */
export function startPgProxy(targetUrl: string): Promise<PgProxy> {
  const target = new URL(targetUrl);
  const targetHost = target.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const targetPort = Number(target.port || 5432);
  const links = new Set<Link>();
  let open = true;
  let delayMs = 0;
  let accepted = 0;

  const server = net.createServer((client) => {
    client.on('error', () => undefined);
    if (!open) { client.resetAndDestroy(); return; }
    accepted++;
    const upstream = net.connect(targetPort, targetHost);
    upstream.on('error', () => undefined);
    upstream.setNoDelay(true);
    client.setNoDelay(true);

    // Each chunk is due at arrival + delay, but never before the chunk ahead of it: order survives a delay that shrinks.
    const queue: { chunk: Buffer; due: number }[] = [];
    let lastDue = 0;
    let timer: NodeJS.Timeout | undefined;
    let clientEnded = false;
    const pump = () => {
      timer = undefined;
      const now = Date.now();
      while (queue[0] && queue[0].due <= now) upstream.write(queue.shift()!.chunk);
      if (queue[0]) timer = setTimeout(pump, queue[0].due - now);
      else if (clientEnded) upstream.end();
    };
    client.on('data', (chunk: Buffer) => {
      const now = Date.now();
      lastDue = Math.max(now + delayMs, lastDue);
      if (lastDue <= now && queue.length === 0) { upstream.write(chunk); return; }
      queue.push({ chunk, due: lastDue });
      timer ??= setTimeout(pump, lastDue - now);
    });
    client.on('end', () => { clientEnded = true; if (queue.length === 0 && !timer) upstream.end(); });
    upstream.pipe(client);

    const link: Link = {
      client,
      upstream,
      drop: () => {
        clearTimeout(timer);
        queue.length = 0;
        if (!client.destroyed) client.resetAndDestroy();
        upstream.destroy();
      },
    };
    links.add(link);
    client.on('close', (hadError) => { if (hadError || !clientEnded) link.drop(); links.delete(link); });
    upstream.on('close', (hadError) => { if (hadError) link.drop(); links.delete(link); });
  });

  const cutAll = () => { for (const link of links) link.drop(); links.clear(); };

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      const url = new URL(targetUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      resolve({
        url: url.toString(),
        port,
        cut: () => { open = false; cutAll(); },
        restore: () => { open = true; },
        setDelay: (ms) => { delayMs = Math.max(0, ms); },
        get connectionsAccepted() { return accepted; },
        close: () => new Promise<void>((done) => {
          open = false;
          server.close(() => done());
          cutAll();
        }),
      });
    });
  });
}
