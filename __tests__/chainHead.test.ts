import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { createCheckpoint } from '../lib/index';
import { GENESIS_HASH } from '../lib/integrity/encoding';
import { resolveSigningKey } from '../lib/integrity/batchSignatures';
import { appendToChain, lockChain } from '../lib/store/activityStore';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, seed } from './support/reports';

/**
 * Issue 13: the chain head has one rule, the one of the append function the migrations installed
 * (frozen). Whatever state the chain is in, the head a checkpoint signs and the head a signed append
 * counts its batch from must be the row the next append links to.
 */

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

const CHECKPOINT_KEY = { hmacSecret: 'chain-head-test-checkpoint-secret' };
const SIGNING_KEY = resolveSigningKey('chain-head-test-signing-key-0123', 'signingKey');
const BASE = Date.UTC(2026, 10, 20, 9, 0, 0);

/** What a superuser can do: set the append-only triggers aside for one transaction. */
async function asSuperuser(work: (trx: Knex.Transaction) => Promise<unknown>): Promise<void> {
  await db.knex.transaction(async (trx: Knex.Transaction) => {
    await trx.raw('set local session_replication_role = replica');
    await work(trx);
  });
}

/** Leaves the state retention would leave had it removed every row: no row, one run ending at position 2. */
async function removeEveryRowButKeepTheRun(): Promise<string> {
  await seed(db.knex, [1, 2].map((i) => activity({ startTime: BASE + i * 60_000 })));
  const removedHash = await hashAt(2);
  await asSuperuser(async (trx) => {
    await trx.raw('delete from user_activity');
    await trx('activity_retention').insert({ from_position: 1, to_position: 2, removed: 2, last_removed_hash: removedHash, cutoff: new Date(BASE + 10 * 60_000), job: 'test' });
  });
  return removedHash;
}

async function hashAt(position: number): Promise<string> {
  const found = (await db.knex.raw('select row_hash from user_activity where chain_position = ?', [position])) as { rows: Array<{ row_hash: string }> };
  return found.rows[0]!.row_hash;
}

/** Appends one event through the write path; where it went and what it links to. */
async function appendOne(): Promise<{ position: number; prevHash: string }> {
  const event = activity({ startTime: Date.now() });
  await seed(db.knex, [event]);
  const found = (await db.knex.raw('select chain_position::int as position, prev_hash from user_activity where id = ?', [event.id])) as { rows: Array<{ position: number; prev_hash: string }> };
  return { position: found.rows[0]!.position, prevHash: found.rows[0]!.prev_hash };
}

/** The checkpoint's head must be the one the next append follows. */
async function expectCheckpointAtAppendHead(expected: { position: number; hash: string }): Promise<void> {
  const checkpoint = await createCheckpoint(db.knex, CHECKPOINT_KEY);
  expect({ position: checkpoint.position, hash: checkpoint.hash }).toEqual(expected);
  expect(await appendOne()).toEqual({ position: expected.position + 1, prevHash: expected.hash });
}

describe('the chain head a checkpoint signs is the one the append function follows', () => {
  it('an empty chain: position 0 and the genesis hash', async () => {
    await expectCheckpointAtAppendHead({ position: 0, hash: GENESIS_HASH });
  });

  it('rows written by the write path: the last of them', async () => {
    await seed(db.knex, [1, 2, 3].map((i) => activity({ startTime: BASE + i * 60_000 })));
    await expectCheckpointAtAppendHead({ position: 3, hash: await hashAt(3) });
  });

  it('the newest row is not at the largest position: the largest position, as the append function reads it', async () => {
    await seed(db.knex, [1, 2, 3].map((i) => activity({ startTime: BASE + i * 60_000 })));
    // Stored last, with the newest id and created_at, but at a position below the chain's start.
    await asSuperuser((trx) => trx('user_activity').insert({
      id: randomUUID(), user_id: 'mallory', activity_type: 'api_call', start_time: new Date(), success: true, chain_position: 0, prev_hash: GENESIS_HASH, row_hash: 'f'.repeat(64),
    }));
    await expectCheckpointAtAppendHead({ position: 3, hash: await hashAt(3) });
  });

  it('no row left but a retention run: the end of that run, where the append function continues', async () => {
    const removedHash = await removeEveryRowButKeepTheRun();
    await expectCheckpointAtAppendHead({ position: 2, hash: removedHash });
  });

  it('no row left but a retention run: a signed append signs its own rows from there', async () => {
    await removeEveryRowButKeepTheRun();
    await db.knex.transaction(async (trx: Knex.Transaction) => {
      await lockChain(trx);
      await appendToChain(trx, [activity({ startTime: Date.now() })], SIGNING_KEY);
    });
    const signed = (await db.knex.raw('select first_position::int as first, position::int as last from activity_chain_signatures')) as { rows: Array<{ first: number; last: number }> };
    expect(signed.rows).toEqual([{ first: 3, last: 3 }]);
  });
});
