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
    // Hashed here, where a row's content hash costs a microsecond; the database only links the rows under the chain lock.
    const parameters = [wireBatch(events), this.sessionEvents, this.risk];
    const key = this.signingKey;
    if (key === null) {
      await this.knex.raw(APPEND_ROWS_SQL, parameters);
      return;
    }
    // The function takes the chain lock before it reads the head, and the lock lasts until commit: the range it returns is this batch's alone.
    await this.knex.transaction(async (trx) => {
      const appended = (await trx.raw(APPEND_ROWS_SQL, parameters)) as { rows: Array<{ first_position: string; last_position: string; last_hash: string }> };
      const row = appended.rows[0];
      await signBatch(trx, key, row ? { firstPosition: row.first_position, position: row.last_position, rowHash: row.last_hash } : undefined);
    });
  }
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
