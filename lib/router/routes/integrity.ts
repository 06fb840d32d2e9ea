import type { ReportContext, ReportHandler } from '../context';
import { invalidParam } from '../apiError';
import { allowOnly, single, type RawQuery } from '../params';
import { ActivityTrackingError } from '../../errors';
import { checkpointKeyInEnvironment, resolveCheckpointKey } from '../../integrity/checkpoint';
import { resolveBackdatedAfterDays, verifyChain } from '../../integrity/verify';
import { messageOf } from '../../util/messageOf';

/** A checkpoint file is about 300 characters; room for a PEM-free JSON with any whitespace. */
const MAX_CHECKPOINT_LENGTH = 2000;

/**
 * `GET /integrity` (admins only): walks the whole hash chain, so it takes time in proportion to the
 * trail (keyset pages, flat memory). `?checkpoint=` takes the JSON of a checkpoint file
 * (`activity-tracking checkpoint`), checked with the ACTIVITY_CHECKPOINT_* keys of the app's
 * environment (an Ed25519 public key is enough, and is all an app should hold).
 */
export function integrityRoute(ctx: ReportContext): ReportHandler {
  // Read when the router is built, so a bad ACTIVITY_BACKDATED_AFTER_DAYS or checkpoint key fails at start-up, not per request.
  const backdatedAfterDays = resolveBackdatedAfterDays(undefined);
  if (checkpointKeyInEnvironment()) resolveCheckpointKey();
  return async (req, res, { describe }) => {
    const query = req.query as RawQuery;
    allowOnly(query, ['checkpoint']);
    const checkpoint = checkpointParam(query);
    // With the tracker's signing key, rows no signed batch covers are reported (unsigned_rows).
    const data = await verifyChain(ctx.db, {
      backdatedAfterDays, ...(ctx.config.signingKey ? { signingKey: ctx.config.signingKey } : {}), ...(checkpoint === undefined ? {} : { checkpoint }),
    }).catch((error: unknown) => {
      // No key for the checkpoint's algorithm: the operator's to fix, and the caller's to know.
      if (error instanceof ActivityTrackingError && error.code === 'ERR_AT_CHECKPOINT_KEY') {
        throw invalidParam('checkpoint', `This server cannot check the checkpoint: ${messageOf(error, { withoutCode: true })}; or check it with \`activity-tracking verify --checkpoint FILE\``);
      }
      throw error;
    });
    const position = (checkpoint as { position?: unknown } | undefined)?.position;
    describe({ filters: checkpoint === undefined ? {} : { checkpoint: { position: typeof position === 'number' ? position : null } } });
    res.json({ data });
  };
}

function checkpointParam(query: RawQuery): unknown {
  const raw = single(query, 'checkpoint', MAX_CHECKPOINT_LENGTH);
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw invalidParam('checkpoint', '"checkpoint" must be the JSON that `activity-tracking checkpoint` printed, URL-encoded (curl -G --data-urlencode checkpoint@head.json)');
  }
}
