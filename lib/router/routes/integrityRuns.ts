import type { ReportContext, ReportHandler } from '../context';
import { ApiError, invalidParam } from '../apiError';
import type { IntegrityRun } from '../integrityRuns';
import { IntegrityRuns } from '../integrityRuns';
import { allowOnly, uuidPathParam } from '../params';
import { checkpointKeyInEnvironment } from '../../integrity/checkpoint';
import { resolveBackdatedAfterDays } from '../../integrity/verify';
import type { ReportPrincipal } from '../../types';

/** The trail's action for a finished console verification; its details are the result. */
export const INTEGRITY_VERIFIED_ACTION = 'integrity.verified';
/** Verifications listed as recent. */
const RECENT = 10;

/** The verifications of one router, each put on the trail when it ends. */
export function integrityRunsFor(ctx: ReportContext): IntegrityRuns {
  const backdatedAfterDays = resolveBackdatedAfterDays(undefined);
  return new IntegrityRuns(ctx.db, { backdatedAfterDays, ...(ctx.config.signingKey ? { signingKey: ctx.config.signingKey } : {}) },
    (run, principal) => ctx.record(verifiedEvent(run, principal)));
}

function verifiedEvent(run: IntegrityRun, principal: ReportPrincipal): Parameters<ReportContext['record']>[0] {
  const result = run.result;
  return {
    action: INTEGRITY_VERIFIED_ACTION, activityType: 'system_action', category: 'integrity', userId: principal.userId, actorRole: principal.role,
    entityType: 'integrity_run', entityId: run.id, success: run.status === 'done' && result?.ok === true,
    details: {
      runId: run.id, startedAt: run.startedAt, finishedAt: run.finishedAt, status: run.status,
      ...(result ? {
        ok: result.ok, rowsChecked: result.rowsChecked, verifiedFrom: result.verifiedFrom, verifiedTo: result.verifiedTo, headHash: result.headHash,
        ...(result.failure ? { failure: result.failure } : {}), ...(result.checkpoint ? { checkpoint: result.checkpoint } : {}),
      } : { error: run.error ?? null }),
    },
  };
}

/**
 * `POST /integrity/runs` (admins of every tenant): starts walking the chain, answers 202 with the
 * run at once; `{ "checkpoint": <the JSON of a checkpoint file> }` checks it too. 409 while one runs.
 */
export function startIntegrityRunRoute(runs: IntegrityRuns): ReportHandler {
  return async (req, res, { principal, describe }) => {
    allowOnly(req.query as Record<string, unknown>, []);
    const body: unknown = req.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidParam('body', 'Send a JSON object: {} or { "checkpoint": <the JSON activity-tracking checkpoint printed> }');
    allowOnly(body as Record<string, unknown>, ['checkpoint']);
    const checkpoint = (body as { checkpoint?: unknown }).checkpoint;
    if (checkpoint !== undefined && (typeof checkpoint !== 'object' || checkpoint === null || Array.isArray(checkpoint))) {
      throw invalidParam('checkpoint', '"checkpoint" must be the JSON object that `activity-tracking checkpoint` printed');
    }
    if (checkpoint !== undefined && !checkpointKeyInEnvironment()) {
      throw invalidParam('checkpoint', 'This server has no key to check checkpoints with (ACTIVITY_CHECKPOINT_KEY, ACTIVITY_CHECKPOINT_PUBLIC_KEY or ACTIVITY_CHECKPOINT_PRIVATE_KEY); check it with `activity-tracking verify --checkpoint FILE`');
    }
    const run = await runs.start(principal, checkpoint);
    describe({ entityType: 'integrity_run', entityId: run.id });
    res.status(202).json({ data: run });
  };
}

/** `GET /integrity/runs/:id`: a run's progress, then its result. */
export function integrityRunRoute(runs: IntegrityRuns): ReportHandler {
  return async (req, res, { describe }) => {
    allowOnly(req.query as Record<string, unknown>, []);
    const id = uuidPathParam(req.params['id'], 'id', 'the id POST /integrity/runs answered with');
    const run = runs.get(id);
    if (run === undefined) throw new ApiError(404, 'ERR_AT_NOT_FOUND', `No verification ${id} in this instance; GET /integrity/runs lists the recent ones from the trail`, 'id');
    describe({ entityType: 'integrity_run', entityId: run.id });
    res.json({ data: run });
  };
}

/**
 * `GET /integrity/runs`: the run going on in this instance, if any, and the last verifications
 * the trail holds (`integrity.verified` events of every instance), newest first.
 */
export function integrityRunsRoute(runs: IntegrityRuns): ReportHandler {
  return async (req, res, { describe, reader }) => {
    allowOnly(req.query as Record<string, unknown>, []);
    const { data } = await reader.activities({ action: INTEGRITY_VERIFIED_ACTION }, { limit: RECENT, offset: 0, orderBy: 'startTime', order: 'desc' });
    const recent = data.map((row) => ({ at: row.startTime, userId: row.userId, activityId: row.id, ...(row.details as Record<string, unknown> | null ?? {}) }));
    describe({ filters: { action: INTEGRITY_VERIFIED_ACTION }, rows: recent.length });
    res.json({ data: { current: runs.current() ?? null, recent } });
  };
}
