import { jest } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

/** Every DeprecationWarning emitted while `run` runs (they still reach the process as usual). */
async function deprecationsDuring(run: () => Promise<void>): Promise<Array<{ code: string | undefined; message: string }>> {
  const emitted = jest.spyOn(process, 'emitWarning');
  try {
    await run();
    return emitted.mock.calls
      .map(([warning, options]) => ({ message: String(warning), ...(typeof options === 'object' ? options : {}) }))
      .filter((warning) => (warning as { type?: string }).type === 'DeprecationWarning')
      .map((warning) => ({ code: (warning as { code?: string }).code, message: warning.message }));
  } finally {
    emitted.mockRestore();
  }
}

/**
 * The stored rows, in chain order, without what differs between two recordings of one event: its id,
 * action, chain place and hashes, and its risk (scored against the rows before it).
 */
async function comparableRows(): Promise<Array<Record<string, unknown>>> {
  const rows = (await db.knex('user_activity').orderBy('chain_position').select('*')) as Array<Record<string, unknown>>;
  return rows.map((row) => {
    const { id: _id, action: _a, chain_position: _p, prev_hash: _h, row_hash: _r, created_at: _c, risk_score: _s, risk_factors: _f, anomaly: _n, severity: _v, ...rest } = row;
    return rest;
  });
}

const AT = new Date('2026-11-02T10:00:00Z');

describe('the old spellings of record() inputs', () => {
  it('store the same row as the row names, and each warns once, naming its replacement', async () => {
    const tracker = testTracker(db.knex);
    const warnings = await deprecationsDuring(async () => {
      for (let i = 0; i < 2; i += 1) {
        await tracker.record({
          action: `old.${i}`, startTime: AT,
          actor: { id: 'rita', type: 'admin', role: 'approver', name: 'Rita' },
          entity: { type: 'invoice', id: 7, name: 'Invoice 7' },
          metadata: { via: 'panel' },
        });
      }
    });
    for (let i = 0; i < 2; i += 1) {
      await tracker.record({
        action: `new.${i}`, startTime: AT,
        userId: 'rita', actorType: 'admin', actorRole: 'approver', actorName: 'Rita',
        entityType: 'invoice', entityId: 7, entityName: 'Invoice 7',
        details: { via: 'panel' },
      });
    }
    await tracker.close();

    expect(warnings.map((w) => w.code).sort()).toEqual(['AT_DEP_RECORD_ACTOR', 'AT_DEP_RECORD_ENTITY', 'AT_DEP_RECORD_METADATA']);
    expect(warnings.find((w) => w.code === 'AT_DEP_RECORD_ACTOR')?.message).toContain('pass userId, actorType, actorRole and actorName');
    const rows = await comparableRows();
    expect(rows).toHaveLength(4);
    expect(rows[0]).toEqual(rows[2]);
    expect(rows[2]).toMatchObject({ user_id: 'rita', actor_type: 'admin', actor_role: 'approver', actor_name: 'Rita', entity_type: 'invoice', entity_id: '7', entity_name: 'Invoice 7', details: { via: 'panel' } });
  });

  it('still win over the flat names when both are given, as they did', async () => {
    const tracker = testTracker(db.knex);
    await deprecationsDuring(() => tracker.record({ action: 'both', startTime: AT, actor: { id: 'from-actor' }, userId: 'flat', entity: { type: 'from-entity' }, entityType: 'flat', metadata: { from: 'metadata' }, details: { from: 'details' } }));
    await tracker.close();
    expect(await db.knex('user_activity').first('user_id', 'entity_type', 'details')).toEqual({ user_id: 'from-actor', entity_type: 'from-entity', details: { from: 'metadata' } });
  });
});

describe('req.activity.type', () => {
  it('still sets the activity type, warns once, and activityType wins over it', async () => {
    const tracker = testTracker(db.knex);
    const app = express();
    app.use(tracker.middleware());
    app.get('/old', (req, res) => { req.activity!.type = 'data_view'; res.json({}); });
    app.get('/both', (req, res) => { req.activity!.type = 'data_view'; req.activity!.activityType = 'file_download'; res.json({}); });
    app.get('/new', (req, res) => { req.activity!.activityType = 'audit_export'; res.json({}); });
    const warnings = await deprecationsDuring(async () => {
      await request(app).get('/old').expect(200);
      await request(app).get('/both').expect(200);
      await request(app).get('/new').expect(200);
      await tracker.flush();
    });
    await tracker.close();
    expect(warnings.map((w) => w.code)).toEqual(['AT_DEP_REQUEST_ACTIVITY_TYPE']);
    const rows = await db.knex('user_activity').whereIn('path', ['/old', '/both', '/new']).orderBy('chain_position').select('path', 'activity_type');
    expect(rows).toEqual([
      { path: '/old', activity_type: 'data_view' },
      { path: '/both', activity_type: 'file_download' },
      { path: '/new', activity_type: 'audit_export' },
    ]);
  });
});
