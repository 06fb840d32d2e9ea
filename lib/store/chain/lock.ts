import type { Knex } from 'knex';
import type { Database } from '../database';
import { lockChain } from '../activityStore';

/** Runs `work` in one transaction that takes the chain lock first; what it appends or removes commits together. */
export async function withChainLock<T>(db: Database, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return db.transaction(async (trx) => {
    await lockChain(trx);
    return work(trx);
  });
}
