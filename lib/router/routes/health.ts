import type { Request, Response, NextFunction } from 'express';
import type { ReportContext } from '../context';
import { allowOnly, type RawQuery } from '../params';
import type { RecorderStats } from '../../recorder/recorder';
import { rowLevelSecurityBinding, type RowLevelSecurityBinding } from '../../store/rowLevelSecurity';
import { messageOf } from '../../util/messageOf';

/** How long the health check waits for `select 1` before it calls the database unreachable. */
export const HEALTH_PROBE_TIMEOUT_MS = 2000;
/** Events older than this still waiting make the write path "degraded". */
export const HEALTH_LAG_WARNING_MS = 60_000;

export type HealthStatus = 'ok' | 'degraded' | 'failing';

/**
 * `GET /health` (admins): the write path's counters and a live probe of the database. It answers
 * while the database is down (that is when it matters), so it does not wait for start-up.
 * 200 when `ok` or `degraded` (a backlog: journaled events waiting, or lag), 503 when `failing`
 * (the database does not answer, or events were dropped). With the `rowLevelSecurity` option, also
 * whether the policies bind this connection; a wall that was asked for and is not there is
 * `degraded`.
 */
export function healthRoute(ctx: ReportContext) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      allowOnly(req.query as RawQuery, []);
      const database = await probe(ctx);
      const writePath = ctx.writePathStats();
      const rowLevelSecurity = ctx.config.rowLevelSecurity && database.reachable ? await bindingOf(ctx) : null;
      let status = healthStatus(database.reachable, writePath);
      if (status === 'ok' && rowLevelSecurity !== null && !rowLevelSecurity.enforced) status = 'degraded';
      res.status(status === 'failing' ? 503 : 200).json({ data: { status, database, writePath, ...(ctx.config.rowLevelSecurity ? { rowLevelSecurity } : {}) } });
    } catch (error) {
      next(error);
    }
  };
}

export function healthStatus(databaseReachable: boolean, writePath: RecorderStats): HealthStatus {
  if (!databaseReachable || writePath.dropped > 0) return 'failing';
  if (writePath.journalPending > 0 || writePath.lagMs > HEALTH_LAG_WARNING_MS || !writePath.databaseAvailable) return 'degraded';
  return 'ok';
}

async function bindingOf(ctx: ReportContext): Promise<RowLevelSecurityBinding> {
  try {
    return await rowLevelSecurityBinding(ctx.knex);
  } catch (error) {
    return { enforced: false, reasons: [`cannot check: ${messageOf(error)}`] };
  }
}

async function probe(ctx: ReportContext): Promise<{ reachable: boolean; latencyMs: number; error: string | null }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ctx.knex.raw('select 1'),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_PROBE_TIMEOUT_MS} ms`)), HEALTH_PROBE_TIMEOUT_MS); }),
    ]);
    return { reachable: true, latencyMs: Math.round(performance.now() - started), error: null };
  } catch (error) {
    return { reachable: false, latencyMs: Math.round(performance.now() - started), error: messageOf(error) };
  } finally {
    clearTimeout(timer);
  }
}
