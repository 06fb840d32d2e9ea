import { recordFields, type HashInputs } from './recordEncoding';
import type { Database } from '../store/database';
import { retentionRunsAfter, type RetentionRunRow } from '../store/chain/retentionRuns';

/**
 * What the chain itself says about the positions missing at its start. Retention appends one
 * `retention.removed` record per batch (activity_type system_action, entity_type activity_trail)
 * before it deletes, and the append-only trigger lets a row go only when such a record, at a later
 * position, covers it. So a gap at the start of the chain is accepted only when the kept chain
 * holds records that account for it:
 *
 * 1. the records whose ranges lie before the first kept position S follow each other in chain order
 *    (each record's fromPosition is the previous record's toPosition + 1) and the last ends at S - 1;
 *    positions before the first kept record's range were covered by records removed in turn, which
 *    lie inside a kept record's range;
 * 2. each says removed = toPosition - fromPosition + 1;
 * 3. the last one's lastRemovedHash is the prev_hash of the row at S;
 * 4. each one's cutoff is older than the record itself (its start_time) and not later than the time
 *    the database stored it and every kept row chained after it (created_at, which the append
 *    function does not take from its caller): a run's cutoff lies in the past when it runs. (Not
 *    the start_time of later rows: the journal may replay rows older than a short retention.)
 * A record claiming positions that are still in the chain is refused too. Anything else is
 * `retention_forged`, except a gap no record claims at all, which is `row_missing`. The activity_retention table is an index of the runs, no authority: each of
 * its rows must match a chained record (or one that a later run removed, inside the gap).
 */

export interface RetentionRecord {
  position: bigint;
  from: bigint;
  to: bigint;
  removed: number;
  lastRemovedHash: string;
  cutoffMs: number;
  cutoff: string;
}

export type RetentionProblem = { position: number; message: string; inGap: boolean; problem?: 'row_missing' };

const HASH = /^[0-9a-f]{64}$/;

/** The retention record a row carries, or undefined when it is none (or too malformed to authorize anything). */
export function retentionRecordOf(inputs: HashInputs, position: bigint): RetentionRecord | undefined {
  const fields = recordFields(inputs);
  if (fields.action !== 'retention.removed' || fields.activityType !== 'system_action' || fields.entityType !== 'activity_trail' || typeof fields.details !== 'string') return undefined;
  return parseDetails(fields.details, position);
}

function parseDetails(text: string, position: bigint): RetentionRecord | undefined {
  let details: unknown;
  try {
    details = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof details !== 'object' || details === null) return undefined;
  const { fromPosition, toPosition, removed, lastRemovedHash, cutoff } = details as Record<string, unknown>;
  if (!Number.isSafeInteger(fromPosition) || !Number.isSafeInteger(toPosition) || !Number.isSafeInteger(removed)) return undefined;
  if (typeof lastRemovedHash !== 'string' || typeof cutoff !== 'string' || Number.isNaN(Date.parse(cutoff))) return undefined;
  return { position, from: BigInt(fromPosition as number), to: BigInt(toPosition as number), removed: removed as number, lastRemovedHash, cutoffMs: Date.parse(cutoff), cutoff };
}

/** Follows the records of one walk: O(1) memory, whatever the number of records. */
export class RetentionTrail {
  private coveredTo: bigint | null = null;
  private last: RetentionRecord | null = null;
  private latestCutoff: RetentionRecord | null = null;
  /** The record whose range holds the checkpoint's position, when that position was removed. */
  covering: RetentionRecord | null = null;

  /** `firstKept`: the first position of the chain; `link`: the prev_hash of the row there. */
  constructor(private readonly firstKept: bigint, private readonly link: string, private readonly checkpointPosition: bigint | null) {}

  /** Undefined when the row is consistent with the records before it, and (if it is one) the record with them. */
  see(position: bigint, startMs: number | null, createdMs: number | null, record: RetentionRecord | undefined): RetentionProblem | 'still_there' | undefined {
    const latest = this.latestCutoff;
    if (latest && createdMs !== null && createdMs < latest.cutoffMs) {
      return { position: Number(position), inGap: false, message: `The row at position ${position} was stored at ${iso(createdMs)}, before the cutoff ${latest.cutoff} of the retention record at position ${latest.position} chained before it: that cutoff lay in the future when the record was written` };
    }
    if (!record) return undefined;
    const { from, to } = record;
    if (to >= this.firstKept) return 'still_there';
    const where = `The retention record at position ${position} (positions ${from} to ${to})`;
    if (from < 1n || from > to || BigInt(record.removed) !== to - from + 1n) {
      return { position: Number(from < 1n ? 1n : from), inGap: true, message: `${where} says it removed ${record.removed} row(s): that does not match its range` };
    }
    if (this.coveredTo !== null && from !== this.coveredTo + 1n) {
      return { position: Number(this.coveredTo + 1n), inGap: true, message: `${where} does not follow the record before it, which ended at ${this.coveredTo}: retention removes the chain's start, one range after the other` };
    }
    if (startMs === null || record.cutoffMs >= startMs || (createdMs !== null && record.cutoffMs > createdMs)) {
      return { position: Number(position), inGap: false, message: `${where} has the cutoff ${record.cutoff}, not older than the record itself (started ${startMs === null ? 'never' : iso(startMs)}, stored ${createdMs === null ? 'never' : iso(createdMs)})` };
    }
    this.coveredTo = to;
    this.last = record;
    if (!this.latestCutoff || record.cutoffMs > this.latestCutoff.cutoffMs) this.latestCutoff = record;
    if (this.checkpointPosition !== null && this.checkpointPosition >= from && this.checkpointPosition <= to) this.covering = record;
    return undefined;
  }

  /** After the walk: whether the records account for every position before the first kept one. */
  finish(): RetentionProblem | undefined {
    const end = this.firstKept - 1n;
    if (end < 1n) return undefined;
    if (this.coveredTo === null || this.last === null) {
      // Nothing claims these positions were removed on purpose: rows are simply missing.
      return { position: 1, inGap: true, problem: 'row_missing', message: `Position 1 is missing: the next row is at ${this.firstKept}, and no retention.removed record in the chain covers positions 1 to ${end}` };
    }
    if (this.coveredTo < end) {
      return { position: Number(this.coveredTo + 1n), inGap: true, message: `Positions ${this.coveredTo + 1n} to ${end} are missing; the chain's retention records cover positions only up to ${this.coveredTo}: rows were deleted outside the retention job` };
    }
    if (this.last.lastRemovedHash !== this.link) {
      return { position: Number(end), inGap: true, message: `The retention record at position ${this.last.position} says position ${end} had hash ${this.last.lastRemovedHash}, but the first kept row links to ${this.link}` };
    }
    return undefined;
  }

  /** The hash the chain had at the end of the removed range; what a row linking to it was after. */
  get removedEnd(): { position: bigint; hash: string } | null {
    return this.firstKept > 1n ? { position: this.firstKept - 1n, hash: this.link } : null;
  }
}

const TABLE_PAGE = 500;

/**
 * Checks each activity_retention row against the chain: it must describe a chained record, or one
 * that a later run removed (then both its range and the record lie before the first kept position).
 * Returns the first row that is neither: a run recorded outside the retention job.
 */
export async function forgedRetentionRun(db: Database, firstKept: bigint | null): Promise<RetentionProblem | undefined> {
  let after = '0';
  for (;;) {
    const page = await retentionRunsAfter(db, after, TABLE_PAGE);
    for (const run of page) {
      const from = BigInt(run.fromPosition);
      const to = BigInt(run.toPosition);
      if (!runIsChained(run, from, to, firstKept)) {
        return {
          position: Number(from < 1n ? 1n : from), inGap: true,
          message: `activity_retention says positions ${from} to ${to} were removed (run ${run.id}), but no retention.removed record in the chain says so: it was written outside the retention job and authorizes nothing`,
        };
      }
    }
    if (page.length < TABLE_PAGE) return undefined;
    after = (page[page.length - 1] as RetentionRunRow).id;
  }
}

function runIsChained(run: RetentionRunRow, from: bigint, to: bigint, firstKept: bigint | null): boolean {
  if (run.recordPosition === null) return false;
  const recordPosition = BigInt(run.recordPosition);
  if (run.found === null) return firstKept !== null && to < recordPosition && recordPosition < firstKept;
  if (run.action !== 'retention.removed' || run.activityType !== 'system_action' || run.entityType !== 'activity_trail' || run.details === null) return false;
  const record = parseDetails(run.details, recordPosition);
  return record !== undefined && record.from === from && record.to === to && record.removed === run.removed
    && record.lastRemovedHash === run.lastRemovedHash && HASH.test(record.lastRemovedHash);
}

function iso(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}
