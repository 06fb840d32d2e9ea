import type { ReportContext, ReportHandler } from '../context';
import { allowOnly, type RawQuery } from '../params';
import type { RecorderStats } from '../../recorder/recorder';
import type { ReportReader } from '../../store/reports/reader';
import type { RowLevelSecurityBinding } from '../../store/rowLevelSecurity';
import { messageOf } from '../../util/messageOf';

/** How long the health check waits for the database probe before it calls the database unreachable. */
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
export function healthRoute(ctx: ReportContext): ReportHandler {
  return async (req, res, { reader }) => {
    allowOnly(req.query as RawQuery, []);
    const database = await reader.databaseProbe(HEALTH_PROBE_TIMEOUT_MS);
    const writePath = ctx.writePathStats();
    const rowLevelSecurity = ctx.config.rowLevelSecurity && database.reachable ? await bindingOf(reader) : null;
    let status = healthStatus(database.reachable, writePath);
    if (status === 'ok' && rowLevelSecurity !== null && !rowLevelSecurity.enforced) status = 'degraded';
    res.status(status === 'failing' ? 503 : 200).json({ data: { status, database, writePath, ...(ctx.config.rowLevelSecurity ? { rowLevelSecurity } : {}) } });
  };
}

export function healthStatus(databaseReachable: boolean, writePath: RecorderStats): HealthStatus {
  if (!databaseReachable || writePath.dropped > 0) return 'failing';
  if (writePath.journalPending > 0 || writePath.lagMs > HEALTH_LAG_WARNING_MS || !writePath.databaseAvailable) return 'degraded';
  return 'ok';
}

async function bindingOf(reader: ReportReader): Promise<RowLevelSecurityBinding> {
  try {
    return await reader.rowLevelSecurityBinding();
  } catch (error) {
    return { enforced: false, reasons: [`cannot check: ${messageOf(error)}`] };
  }
}
