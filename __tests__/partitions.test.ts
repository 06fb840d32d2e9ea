import { openTestDatabase, usingPostgres, type TestDatabase } from './support/database';
import { activity, seed } from './support/reports';
import { migrationConfig } from '../migrations/index';
import { migrate } from '../lib/store/schema';
import { ensurePartitions, listPartitions, nextBoundary, periodStart } from '../lib/store/partitions/partitions';
import { removeExpiredActivity } from '../lib/jobs/retention';
import { verifyChain } from '../lib/integrity/verify';
import { enableRowLevelSecurity, disableRowLevelSecurity } from '../lib/store/rowLevelSecurity';
import { grantWriterRole } from '../lib/store/writerRole';
import type { Knex } from 'knex';

const DAY = 86_400_000;

/** Which partition holds each chain position, and when the row was stored. */
async function placement(knex: Knex): Promise<Array<{ position: number; partition: string; createdAt: number }>> {
  const found = (await knex.raw(`select chain_position::text as position, tableoid::regclass::text as partition, (extract(epoch from created_at) * 1000)::float8 as created_ms
    from user_activity order by chain_position`)) as { rows: Array<{ position: string; partition: string; created_ms: number }> };
  return found.rows.map((r) => ({ position: Number(r.position), partition: r.partition.replace(/^.*\./, '').replace(/"/g, ''), createdAt: Number(r.created_ms) }));
}

async function chainRows(knex: Knex): Promise<Array<{ id: string; position: string; row_hash: string; prev_hash: string }>> {
  return (await knex('user_activity').orderBy('chain_position').select('id', knex.raw('chain_position::text as position'), 'row_hash', 'prev_hash')) as Array<{ id: string; position: string; row_hash: string; prev_hash: string }>;
}

describe('partition periods', () => {
  it('start at UTC midnight, on Mondays for weeks and on the first for months, across a year end', () => {
    const t = new Date(Date.UTC(2026, 11, 31, 23, 59, 59, 999)); // a Thursday
    expect(nextBoundary(t, 'day').toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(nextBoundary(t, 'week').toISOString()).toBe('2027-01-04T00:00:00.000Z');
    expect(nextBoundary(t, 'month').toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(periodStart(t, 'week').toISOString()).toBe('2026-12-28T00:00:00.000Z');
    expect(periodStart(t, 'month').toISOString()).toBe('2026-12-01T00:00:00.000Z');
    const monday = new Date(Date.UTC(2026, 11, 7));
    expect(nextBoundary(monday, 'week').toISOString()).toBe('2026-12-14T00:00:00.000Z');
    expect(periodStart(monday, 'week').toISOString()).toBe('2026-12-07T00:00:00.000Z');
  });
});

describe('a partitioned trail', () => {
  let db: TestDatabase;
  beforeAll(async () => { db = await openTestDatabase(); });
  afterAll(async () => { await db.destroy(); });

  it('has a partition for this month and the two after it, and a default one; rows go to this month\'s, in chain order', async () => {
    const partitions = await listPartitions(db.knex);
    const thisMonth = periodStart(new Date(), 'month');
    expect(partitions.map((p) => p.name)).toEqual([
      ...[0, 1, 2].map((i) => `user_activity_p${new Date(Date.UTC(thisMonth.getUTCFullYear(), thisMonth.getUTCMonth() + i, 1)).toISOString().slice(0, 10).replace(/-/g, '')}`),
      'user_activity_default',
    ]);
    expect(partitions[0]?.from?.toISOString()).toBe(thisMonth.toISOString());
    expect(partitions[0]?.to?.toISOString()).toBe(partitions[1]?.from?.toISOString());
    expect(await ensurePartitions(db.knex, { interval: 'month', ahead: 2 })).toEqual([]);

    for (let batch = 0; batch < 4; batch++) await seed(db.knex, Array.from({ length: 50 }, (_, i) => activity({ entityId: `${batch}-${i}` })));
    const rows = await placement(db.knex);
    expect(rows).toHaveLength(200);
    expect(new Set(rows.map((r) => r.partition))).toEqual(new Set([partitions[0]?.name]));
    // created_at is read as each row is inserted, under the chain lock: it never goes back along the chain.
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.createdAt).toBeGreaterThanOrEqual(rows[i - 1]!.createdAt);
    expect((await verifyChain(db.knex)).ok).toBe(true);
  });

  it('refuses UPDATE, DELETE and TRUNCATE on every partition by name, as on the table', async () => {
    const [current] = await listPartitions(db.knex);
    await expect(db.knex.raw(`update "${current!.name}" set user_id = 'mallory'`)).rejects.toThrow(/user_activity is append-only; UPDATE is refused/);
    await expect(db.knex.raw(`delete from "${current!.name}"`)).rejects.toThrow(/user_activity is append-only; DELETE is refused/);
    for (const { name } of await listPartitions(db.knex)) {
      await expect(db.knex.raw(`truncate "${name}"`)).rejects.toThrow(/user_activity is append-only; TRUNCATE is refused/);
    }
    await expect(db.knex.raw('truncate user_activity')).rejects.toThrow(/user_activity is append-only; TRUNCATE is refused/);
    expect(await db.knex('user_activity').count({ n: '*' }).first()).toEqual({ n: expect.anything() });
    expect(Number((await db.knex('user_activity').count({ n: '*' }).first())?.n)).toBe(200);
  });

  it('drops no partition that holds rows without a chained retention record covering exactly them, and never the default one', async () => {
    const [current] = await listPartitions(db.knex);
    await expect(db.knex.raw('select activity_tracking_drop_partition(?)', [current!.name])).rejects.toThrow(/dropping partition .* is refused/);
    await expect(db.knex.raw('select activity_tracking_drop_partition(?)', ['user_activity_default'])).rejects.toThrow(/not a dated partition/);
    await expect(db.knex.raw('select activity_tracking_drop_partition(?)', ['activity_retention'])).rejects.toThrow(/not a dated partition/);
    const later = (await listPartitions(db.knex))[2]!;
    await expect(db.knex.raw('select activity_tracking_drop_partition(?)', [later.name])).rejects.toThrow(/empty but its range has not passed/);
    expect((await listPartitions(db.knex)).map((p) => p.name)).toContain(current!.name);
    expect((await verifyChain(db.knex)).ok).toBe(true);
  });
});

describe('retention by partition', () => {
  let db: TestDatabase;
  beforeAll(async () => { db = await openTestDatabase(); });
  afterAll(async () => { await db.destroy(); });

  it('records the positions of a wholly expired partition on the chain, then drops it in one step; the chain verifies', async () => {
    // A partition whose range ends a second from now, then one after it: no test can wait a month.
    for (const { name, isDefault } of await listPartitions(db.knex)) if (!isDefault) await db.knex.raw(`drop table "${name}"`);
    const boundary = new Date(Date.now() + 1500);
    await db.knex.raw('select activity_tracking_create_partition(?::timestamptz, ?::timestamptz)', [new Date(Date.now() - DAY).toISOString(), boundary.toISOString()]);
    await db.knex.raw('select activity_tracking_create_partition(?::timestamptz, ?::timestamptz)', [boundary.toISOString(), new Date(boundary.getTime() + 30 * DAY).toISOString()]);
    const [old, next] = await listPartitions(db.knex);
    const started = Date.now() - 120 * DAY;
    await seed(db.knex, Array.from({ length: 30 }, (_, i) => activity({ startTime: started + i * 1000, entityId: String(i) })));
    expect(new Set((await placement(db.knex)).map((r) => r.partition))).toEqual(new Set([old!.name]));
    const lastHash = (await chainRows(db.knex))[29]!.row_hash;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, boundary.getTime() - Date.now() + 50)));

    // The cutoff is the boundary itself: every row of the old partition started before it.
    const result = await removeExpiredActivity(db.knex, { retentionDays: 90, job: 'retention-job', now: new Date(boundary.getTime() + 90 * DAY) });
    expect(result).toMatchObject({ removed: 30, fromPosition: 1, toPosition: 30, batches: 1, partitionsDropped: [old!.name] });
    expect((await listPartitions(db.knex)).map((p) => p.name)).toEqual([next!.name, 'user_activity_default']);
    const kept = await db.knex('user_activity').select('chain_position', 'action', 'details');
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ action: 'retention.removed', details: expect.objectContaining({ fromPosition: 1, toPosition: 30, removed: 30, lastRemovedHash: lastHash, partition: old!.name }) });
    expect(Number(kept[0].chain_position)).toBe(31);
    const runs = await db.knex('activity_retention').select('from_position', 'to_position', 'removed', 'record_position');
    expect(runs.map((r) => [Number(r.from_position), Number(r.to_position), Number(r.removed), Number(r.record_position)])).toEqual([[1, 30, 30, 31]]);
    expect(await verifyChain(db.knex)).toMatchObject({ ok: true, verifiedFrom: 31, verifiedTo: 31 });
  });

});

describe('a trail without a dated partition for now', () => {
  let db: TestDatabase;
  beforeAll(async () => { db = await openTestDatabase(); });
  afterAll(async () => { await db.destroy(); });

  it('keeps rows that reach the default partition when no dated one covers them, and starts the next dated partition after them', async () => {
    for (const { name, isDefault } of await listPartitions(db.knex)) if (!isDefault) await db.knex.raw(`drop table "${name}"`);
    await seed(db.knex, [activity({ startTime: Date.now(), entityId: 'stray' })]);
    const stray = (await placement(db.knex)).at(-1)!;
    expect(stray.partition).toBe('user_activity_default');
    const created = await ensurePartitions(db.knex, { interval: 'week', ahead: 1 });
    expect(created.length).toBeGreaterThanOrEqual(2);
    const [first] = await listPartitions(db.knex);
    expect(first!.from!.getTime()).toBe(stray.createdAt + 1);
    await seed(db.knex, [activity({ startTime: Date.now(), entityId: 'after' })]);
    expect((await placement(db.knex)).at(-1)!.partition).toBe(first!.name);
    expect((await verifyChain(db.knex)).ok).toBe(true);
  });
});

describe('upgrading a trail stored in one table', () => {
  let db: TestDatabase;
  beforeAll(async () => { db = await openTestDatabase({ migrated: false }); });
  afterAll(async () => { await db.destroy(); });

  it('attaches the table as it is as the first partition: no row lost, the chain verifies before and after, replays stay exactly-once, and retention later drops it whole', async () => {
    const names = (await migrationConfig().migrationSource!.getMigrations([])).map((m) => (m as { name: string }).name);
    for (const name of names.slice(0, names.indexOf('20261208000000_time_partitions'))) await db.knex.migrate.up({ ...migrationConfig(), name });
    const started = Date.now() - 120 * DAY;
    const old = Array.from({ length: 1200 }, (_, i) => activity({ startTime: started + i * 1000, entityId: String(i), userId: `u${i % 7}` }));
    await seed(db.knex, old);
    expect(await verifyChain(db.knex)).toMatchObject({ ok: true, rowsChecked: 1200 });
    const before = await chainRows(db.knex);

    const { applied, partitionsCreated } = await migrate(db.knex);
    expect(applied).toEqual(names.slice(names.indexOf('20261208000000_time_partitions')));
    expect(partitionsCreated.length).toBeGreaterThanOrEqual(3);
    const partitions = await listPartitions(db.knex);
    expect(partitions[0]).toMatchObject({ name: 'user_activity_initial', from: null });
    expect(await chainRows(db.knex)).toEqual(before);
    expect(new Set((await placement(db.knex)).map((r) => r.partition))).toEqual(new Set(['user_activity_initial']));
    expect(await verifyChain(db.knex)).toMatchObject({ ok: true, rowsChecked: 1200 });

    // A batch replayed after the upgrade (a journal written before it) stores nothing again, though new rows go to another partition.
    await seed(db.knex, [...old.slice(0, 10), activity({ startTime: Date.now(), entityId: 'new' })]);
    const after = await placement(db.knex);
    expect(after).toHaveLength(1201);
    expect(after[1200]!.partition).toBe(partitions[1]!.name);
    expect(await verifyChain(db.knex)).toMatchObject({ ok: true, rowsChecked: 1201 });

    const result = await removeExpiredActivity(db.knex, { retentionDays: 90, job: 'retention-job' });
    expect(result).toMatchObject({ removed: 1200, fromPosition: 1, toPosition: 1200, partitionsDropped: ['user_activity_initial'] });
    expect((await listPartitions(db.knex)).map((p) => p.name)).not.toContain('user_activity_initial');
    expect(await verifyChain(db.knex)).toMatchObject({ ok: true, verifiedFrom: 1201, verifiedTo: 1202 });
  });
});

(usingPostgres ? describe : describe.skip)('partitions and the roles of PostgreSQL', () => {
  let db: TestDatabase;
  const role = `at_part_${process.pid}`;
  beforeAll(async () => {
    db = await openTestDatabase();
    await db.knex.raw(`drop role if exists ${role}`);
    await db.knex.raw(`create role ${role} nologin nosuperuser`);
  });
  afterAll(async () => {
    await db.knex.raw(`drop owned by ${role}`);
    await db.knex.raw(`drop role if exists ${role}`);
    await db.destroy();
  });

  it('lets the writer role read the trail through the table only, under the table\'s policy on every partition, those created later included', async () => {
    await grantWriterRole(db.knex, role);
    const can = async (table: string): Promise<boolean> => Boolean(((await db.knex.raw('select has_table_privilege(?, ?, \'select\') as ok', [role, table])) as { rows: Array<{ ok: boolean }> }).rows[0]?.ok);
    expect(await can('user_activity')).toBe(true);
    for (const { name } of await listPartitions(db.knex)) expect(await can(name)).toBe(false);

    await enableRowLevelSecurity(db.knex);
    const policed = async (): Promise<Record<string, boolean>> => {
      const found = (await db.knex.raw(`select c.relname, c.relrowsecurity and exists (select 1 from pg_policies p where p.schemaname = current_schema() and p.tablename = c.relname) as on
        from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'user_activity'::regclass`)) as { rows: Array<{ relname: string; on: boolean }> };
      return Object.fromEntries(found.rows.map((r) => [r.relname, r.on]));
    };
    expect(Object.values(await policed()).every(Boolean)).toBe(true);
    const created = await ensurePartitions(db.knex, { interval: 'month', ahead: 4 });
    expect(created.length).toBe(2);
    const after = await policed();
    for (const name of created) expect(after[name]).toBe(true);
    await disableRowLevelSecurity(db.knex);
    expect(Object.values(await policed()).some(Boolean)).toBe(false);
  });
});
