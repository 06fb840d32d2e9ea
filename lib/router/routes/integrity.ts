import type { ReportContext, ReportHandler } from '../context';
import { allowOnly, type RawQuery } from '../params';
import { verifyChain } from '../../integrity/verify';

/**
 * `GET /integrity` (admins only): walks the whole hash chain, so it takes time in proportion to the
 * trail (keyset pages, flat memory). It takes no parameters: a checkpoint check belongs to the
 * `activity-tracking verify --checkpoint` command, where the checkpoint file lives outside the app.
 */
export function integrityRoute(ctx: ReportContext): ReportHandler {
  return async (req, res, _principal, describe) => {
    allowOnly(req.query as RawQuery, []);
    const data = await verifyChain(ctx.knex);
    describe({ filters: {} });
    res.json({ data });
  };
}
