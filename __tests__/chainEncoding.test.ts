import type { Knex } from 'knex';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, seed } from './support/reports';
import { verifyChain } from '../lib/integrity/verify';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

/** Runs a verification on one connection with session settings that change how floats, times and dates print. */
async function verifyWithSettings(settings: string[]): Promise<Awaited<ReturnType<typeof verifyChain>>> {
  return db.knex.transaction(async (trx: Knex.Transaction) => {
    for (const setting of settings) await trx.raw(setting);
    return verifyChain(trx as unknown as Knex);
  });
}

describe('the canonical encoding', () => {
  it('gives the same hashes whatever the session prints floats, times and dates like', async () => {
    await seed(db.knex, [
      activity({ duration: 1.2345678901234567, details: { n: 0.1, big: 12345678901234567890, nested: { z: 1, a: [true, null, 'x'] } } }),
      activity({ duration: 1e-7, startTime: Date.UTC(1999, 11, 31, 23, 59, 59, 999) }),
      activity({ duration: null, endTime: null, details: { quote: 'a "b", (c)\\ d' } }),
    ]);
    expect(await verifyWithSettings([])).toMatchObject({ ok: true, rowsChecked: 3 });
    expect(await verifyWithSettings([
      'set local extra_float_digits = 0', "set local timezone = 'Pacific/Chatham'", "set local datestyle = 'SQL, DMY'", "set local intervalstyle = 'sql_standard'",
    ])).toMatchObject({ ok: true, rowsChecked: 3 });
  });

  it('notices a change in the last bit of a duration', async () => {
    await seed(db.knex, [activity({ duration: 1.2345678901234567 }), activity({ duration: 2 })]);
    await db.knex.transaction(async (trx: Knex.Transaction) => {
      await trx.raw('set local session_replication_role = replica');
      await trx.raw('update user_activity set duration = 1.2345678901234569 where chain_position = 1');
    });
    expect(await verifyWithSettings(['set local extra_float_digits = 0'])).toMatchObject({ ok: false, failure: { position: 1, problem: 'content_changed' } });
  });
});
