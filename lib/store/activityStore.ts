import type { Knex } from 'knex';
import type { ActivityEvent } from '../types';
import type { ResolvedRisk } from '../config';
import { CHAIN_LOCK_KEY } from './appendSql';

export { CHAIN_LOCK_KEY };

/** What the recorder writes through; one call is one atomic write. */
export interface ActivityStore {
  /** `serialized`, when given, is `JSON.stringify(events)` already made (by the journal), sent as it is. */
  writeBatch(events: readonly ActivityEvent[], serialized?: string): Promise<void>;
}

export interface StoreOptions {
  /**
   * Add session_start and session_end rows as sessions begin and end (logout). False for an import
   * of activity that already happened, whose session events are in it or are not wanted. Default: true.
   */
  sessionEvents?: boolean;
  /** How rows are scored for risk as they are written (the resolved `risk` option). Default: not scored. */
  risk?: ResolvedRisk | false | null;
}

export class KnexActivityStore implements ActivityStore {
  private readonly sessionEvents: boolean;
  /** The risk options as the append function takes them, serialized once. */
  private readonly risk: string | null;

  constructor(private readonly knex: Knex, options: StoreOptions = {}) {
    this.sessionEvents = options.sessionEvents ?? true;
    this.risk = options.risk ? JSON.stringify(options.risk) : null;
  }

  async writeBatch(events: readonly ActivityEvent[], serialized?: string): Promise<void> {
    if (events.length === 0) return;
    await this.knex.raw('select activity_tracking_append(?::jsonb, ?, ?::jsonb)', [serialized ?? JSON.stringify(events), this.sessionEvents, this.risk]);
  }
}

/** Takes the chain lock until the transaction ends; every writer of user_activity does this first. */
export async function lockChain(trx: Knex.Transaction): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(?)', [CHAIN_LOCK_KEY]);
}

/** Appends events to the chain inside a transaction that already holds the chain lock. */
export async function appendToChain(trx: Knex.Transaction, events: readonly ActivityEvent[]): Promise<void> {
  if (events.length > 0) await trx.raw('select activity_tracking_append(?::jsonb)', [JSON.stringify(events)]);
}
