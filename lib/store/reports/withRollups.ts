import type { Database } from '../database';
import { rollupPlan, type RollupPlan } from '../rollups/plan';
import type { Period } from './filters';
import type { RollupSource } from './rollupReads';
import type { TenantScope } from './tenantScope';

/** How a long-period report reads (internal: the rollups' test compares both ways). */
export interface ReportReadOptions {
  /** Read the whole days and hours the rollups job has built from the rollups. Default true; false: scan every row. */
  rollups?: boolean;
}

const HOUR_MS = 3_600_000;
/** Reads of a plan the rollups job changed meanwhile that are tried again before the report scans instead. */
const ATTEMPTS = 3;

const samePlan = (a: RollupPlan, b: RollupPlan): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Runs `read` over the rollup plan of `period` and resolves with its answer, or with null when no
 * whole day of the period is built (the report then scans its rows). `read` runs its queries side
 * by side, each in its own snapshot: the plan is read again afterwards, and an answer is kept only
 * when the plan did not change meanwhile. Every change the rollups job or retention makes to the
 * period's rollups changes its plan (a day built or forgotten, or built through another position),
 * so an answer that is kept saw one state of the rollups throughout.
 */
export async function readWithRollups<T>(db: Database, period: Period, who: { scope: TenantScope; userId?: string }, read: (source: RollupSource) => Promise<T>): Promise<T | null> {
  // No whole UTC hour in the period: nothing to read from the rollups.
  if (Math.floor((period.endDate.getTime() + 1) / HOUR_MS) - Math.ceil(period.startDate.getTime() / HOUR_MS) < 1) return null;
  // GET /me/summary's per-user dimension is counted per day only.
  const options = { hours: who.userId === undefined };
  let plan = await rollupPlan(db, period, options);
  for (let attempt = 0; plan !== null && attempt < ATTEMPTS; attempt += 1) {
    const answer = await read({ db, plan, ...who });
    const after = await rollupPlan(db, period, options);
    if (after !== null && samePlan(plan, after)) return answer;
    plan = after;
  }
  return null;
}
