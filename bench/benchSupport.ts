/** What the PostgreSQL benches share: their server, their logger, their schema and their settings from the environment. */
import http from 'node:http';

export function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('no TCP address'));
      else resolve(address.port);
    });
  });
}

/** The tracker's warnings and errors, named after the bench; nothing else. */
export function quietLogger(name: string): { debug(): void; info(): void; warn(m: string): void; error(m: string, c?: Record<string, unknown>): void } {
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (m) => console.warn(`[${name}] ${m}`),
    error: (m, c) => console.error(`[${name}] ${m}`, c ?? ''),
  };
}

/** The tracker's own pool then reads the bench schema, as a DATABASE_URL user's would. */
export function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** A whole-number setting from the environment, at least `least`; the fallback when unset. */
export function positiveInteger(name: string, fallback: number, least: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < least) throw new Error(`${name} must be a whole number of at least ${least}, got ${JSON.stringify(raw)}`);
  return n;
}

/** Tables whose reads the report benches time and explain. */
const REPORT_TABLES = /\b(user_activity|activity_sessions|activity_summaries)\b/;

/** A read of the report tables; the recorder's writes (the trail of each read) are not the route's, and must never be EXPLAIN ANALYZEd. */
export function isReportRead(sql: string): boolean {
  return REPORT_TABLES.test(sql) && /^\s*(select|with)\b/i.test(sql) && !/\b(insert|update|delete)\s/i.test(sql.replace(/'[^']*'/g, "''"));
}
