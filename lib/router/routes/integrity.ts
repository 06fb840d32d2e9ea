import type { ReportContext, ReportHandler } from '../context';
import { allowOnly, type RawQuery } from '../params';
import { resolveBackdatedAfterDays, verifyChain } from '../../integrity/verify';

/**
 * `GET /integrity` (admins only): walks the whole hash chain, so it takes time in proportion to the
 * trail (keyset pages, flat memory). It takes no parameters: a checkpoint check belongs to the
 * `activity-tracking verify --checkpoint` command, where the checkpoint file lives outside the app.
 */
export function integrityRoute(ctx: ReportContext): ReportHandler {
  // Read when the router is built, so a bad ACTIVITY_BACKDATED_AFTER_DAYS fails at start-up, not per request.
  const backdatedAfterDays = resolveBackdatedAfterDays(undefined);
  return async (req, res, { describe }) => {
    allowOnly(req.query as RawQuery, []);
    // With the tracker's signing key, rows no signed batch covers are reported (unsigned_rows).
    const data = await verifyChain(ctx.db, { backdatedAfterDays, ...(ctx.config.signingKey ? { signingKey: ctx.config.signingKey } : {}) });
    describe({ filters: {} });
    res.json({ data });
  };
}
