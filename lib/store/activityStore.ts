import type { Knex } from 'knex';
import type { ActivityEvent } from '../types';
import type { ResolvedRisk } from '../config';
import { CHAIN_LOCK_KEY } from './chainLock';
import { signAppendedAfter, signBatch, type BatchSigningKey } from '../integrity/batchSignatures';
import { chainHead } from './chain/head';
import { wireBatch } from '../integrity/encodingV3';

export { CHAIN_LOCK_KEY };

/** What the recorder writes through; one call is one atomic write. */
export interface ActivityStore {
  writeBatch(events: readonly ActivityEvent[]): Promise<void>;
}

export interface StoreOptions {
  /**
   * Add session_start and session_end rows as sessions begin and end (logout). False for an import
   * of activity that already happened, whose session events are in it or are not wanted. Default: true.
   */
  sessionEvents?: boolean;
  /** How rows are scored for risk as they are written (the resolved `risk` option). Default: not scored. */
  risk?: ResolvedRisk | false | null;
  /** The writer's key (the `signingKey` option): each batch is signed (its positions and last hash) as it is appended. Default: none. */
  signingKey?: BatchSigningKey | null;
}

export class KnexActivityStore implements ActivityStore {
  private readonly sessionEvents: boolean;
  /** The risk options as the append function takes them, serialized once. */
  private readonly risk: string | null;
  private readonly signingKey: BatchSigningKey | null;

  constructor(private readonly knex: Knex, options: StoreOptions = {}) {
    this.sessionEvents = options.sessionEvents ?? true;
    this.risk = options.risk ? JSON.stringify(options.risk) : null;
    this.signingKey = options.signingKey ?? null;
  }

  async writeBatch(events: readonly ActivityEvent[]): Promise<void> {
    if (events.length === 0) return;
    const segments = this.sessionEvents ? splitAfterLogouts(events) : [events];
    if (segments.length === 1 && this.signingKey === null) {
      await this.knex.raw(APPEND_ROWS_SQL, this.parameters(events));
      return;
    }
    // Several segments are still one batch: one transaction, in order, each signed on its own.
    await this.knex.transaction(async (trx) => {
      for (const segment of segments) await this.appendSegment(trx, segment);
    });
  }

  private parameters(events: readonly ActivityEvent[]): Knex.RawBinding[] {
    // Hashed here, where a row's content hash costs a microsecond; the database only links the rows under the chain lock.
    return [wireBatch(events), this.sessionEvents, this.risk];
  }

  private async appendSegment(trx: Knex.Transaction, events: readonly ActivityEvent[]): Promise<void> {
    const appended = (await trx.raw(APPEND_ROWS_SQL, this.parameters(events))) as { rows: Array<{ first_position: string; last_position: string; last_hash: string }> };
    const key = this.signingKey;
    if (key === null) return;
    // The function takes the chain lock before it reads the head, and the lock lasts until commit: the range it returns is this batch's alone.
    const row = appended.rows[0];
    await signBatch(trx, key, row ? { firstPosition: row.first_position, position: row.last_position, rowHash: row.last_hash } : undefined);
  }
}

/**
 * The append function ends the sessions a batch logs out of after it has recorded the whole batch,
 * so a visit that goes on after its logout within one batch (logout, then the page it redirects
 * to) would be left ended. Cut the batch after such a logout: the next segment resumes the session
 * (session.resume), as it would had the batches fallen differently.
 */
export function splitAfterLogouts(events: readonly ActivityEvent[]): Array<readonly ActivityEvent[]> {
  const segments: Array<readonly ActivityEvent[]> = [];
  let loggedOut: Set<string> | null = null;
  let from = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as ActivityEvent;
    const session = event.sessionId;
    if (session === null || session === undefined) continue;
    if (loggedOut?.has(session)) {
      segments.push(events.slice(from, i));
      from = i;
      loggedOut = null;
    }
    if (event.activityType === 'logout' && event.success) (loggedOut ??= new Set()).add(session);
  }
  segments.push(from === 0 ? events : events.slice(from));
  return segments;
}

const APPEND_ROWS_SQL = 'select first_position::text, last_position::text, last_hash from activity_tracking_append_rows(?::jsonb, ?, ?::jsonb)';

/** Takes the chain lock until the transaction ends; every writer of user_activity does this first. */
export async function lockChain(trx: Knex.Transaction): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(?)', [CHAIN_LOCK_KEY]);
}

/** Appends events to the chain inside a transaction that already holds the chain lock; with a key, signs the rows added. */
export async function appendToChain(trx: Knex.Transaction, events: readonly ActivityEvent[], signingKey?: BatchSigningKey | null): Promise<void> {
  if (events.length === 0) return;
  const before = signingKey ? (await chainHead(trx)).position : 0n;
  await trx.raw('select activity_tracking_append(?::jsonb)', [JSON.stringify(events)]);
  if (signingKey) await signAppendedAfter(trx, signingKey, before);
}

/**
 * Ends sessions (`activity_tracking_end_sessions`: their session_end rows join the chain); with a
 * key, in one transaction that takes the chain lock first and signs the rows the function added.
 */
export async function endSessions(knex: Knex, ends: ReadonlyArray<{ sessionId: string; endedAt: number }>, action: string, risk: string | null, signingKey?: BatchSigningKey | null): Promise<void> {
  const sql = 'select activity_tracking_end_sessions(?::jsonb, ?, ?::jsonb)';
  const parameters = [JSON.stringify(ends), action, risk];
  if (!signingKey) {
    await knex.raw(sql, parameters);
    return;
  }
  await knex.transaction(async (trx) => {
    await lockChain(trx);
    const before = (await chainHead(trx)).position;
    await trx.raw(sql, parameters);
    await signAppendedAfter(trx, signingKey, before);
  });
}
