import request from 'supertest';
import jwt from 'jsonwebtoken';
import type { NextFunction, Request, Response } from 'express';
import { EXPRESS_VERSIONS, testTracker } from './support/app';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { MOUNT, REPORT_SECRET, tokenFor } from './support/reports';
import { verifyChain } from '../lib/integrity/verify';
import type { ActivityTracker } from '../lib/tracker';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

interface LedgerUser { id: string; role: string; org: string }
type Account = { owner: string; org: string; balance: number; frozen: boolean };

/**
 * A ledger-style platform on the package: every change to an account is a domain event with its
 * actor's type, the account before and after, and a reason; a nightly job posts interest as the
 * system. Its people sign in with tokens that carry their organisation.
 */
function ledgerApp(express: (typeof EXPRESS_VERSIONS)[number][1], tracker: ActivityTracker) {
  const accounts = new Map<string, Account>([
    ['A-1', { owner: 'ada', org: 'acme', balance: 500, frozen: false }],
    ['A-2', { owner: 'bob', org: 'acme', balance: 20, frozen: false }],
  ]);
  const app = express();
  app.use(express.json());
  app.use((req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (header?.startsWith('Bearer ')) {
      const claims = jwt.verify(header.slice(7), REPORT_SECRET, { algorithms: ['HS256'] }) as { sub: string; role: string; tenantId: string };
      (req as Request & { user?: LedgerUser }).user = { id: claims.sub, role: claims.role, org: claims.tenantId };
    }
    next();
  });
  app.use(tracker.middleware());
  const me = (req: Request): LedgerUser => (req as Request & { user: LedgerUser }).user;
  app.post('/accounts/:id/transfers', async (req: Request<{ id: string }>, res: Response) => {
    const from = accounts.get(req.params.id);
    const to = accounts.get(String((req.body as { to?: unknown }).to));
    const amount = Number((req.body as { amount?: unknown }).amount);
    if (!from || !to || from.org !== me(req).org) { res.status(404).json({ error: 'No such account' }); return; }
    const before = { ...from };
    const event = { action: 'ledger.transfer', category: 'ledger', userId: me(req).id, actorType: 'user', actorRole: me(req).role, entityType: 'account', entityId: req.params.id, ownerId: from.org } as const;
    if (from.frozen || from.balance < amount) {
      await req.activity!.record({ ...event, status: 'failure', reason: from.frozen ? 'account frozen' : 'insufficient funds', before, after: before, details: { amount } });
      res.status(422).json({ error: 'Transfer refused' });
      return;
    }
    from.balance -= amount;
    to.balance += amount;
    await req.activity!.record({ ...event, status: 'success', reason: String((req.body as { memo?: unknown }).memo ?? ''), before, after: { ...from }, details: { amount, to: (req.body as { to: string }).to } });
    res.json(from);
  });
  app.post('/accounts/:id/freeze', async (req: Request<{ id: string }>, res: Response) => {
    const account = accounts.get(req.params.id)!;
    const before = { ...account };
    account.frozen = true;
    await req.activity!.record({ action: 'ledger.account_frozen', category: 'ledger', userId: me(req).id, actorType: 'admin', actorRole: me(req).role, entityType: 'account', entityId: req.params.id, ownerId: account.org, before, after: { ...account }, reason: String((req.body as { reason?: unknown }).reason) });
    res.json(account);
  });
  const postInterest = async (): Promise<void> => {
    const account = accounts.get('A-1')!;
    const before = { ...account };
    account.balance = Math.round(account.balance * 1.01);
    await tracker.record({ action: 'ledger.interest_posted', category: 'ledger', userId: 'interest-job', actorType: 'system', entityType: 'account', entityId: 'A-1', tenantId: 'acme', ownerId: 'acme', before, after: { ...account }, reason: 'monthly interest 1%' });
  };
  app.use(MOUNT, tracker.router());
  return { app, postInterest };
}

const as = (sub: string, role: string, tenantId: string) => ({ Authorization: `Bearer ${tokenFor(sub, role, { tenantId })}` });

describe.each(EXPRESS_VERSIONS)('a ledger\'s audit events (%s)', (_name, express) => {
  let tracker: ActivityTracker;
  afterEach(async () => { await tracker.close(); });

  it('keep actor types, before and after with a diff, and reasons, through HTTP; each organisation reads only its own accounts\' trails', async () => {
    tracker = testTracker(db.knex, {
      jwtSecret: REPORT_SECRET,
      getUserId: (req) => (req as Request & { user?: LedgerUser }).user?.id ?? null,
      getTenantId: (req) => (req as Request & { user?: LedgerUser }).user?.org ?? null,
      risk: { workingHours: false },
    });
    const { app, postInterest } = ledgerApp(express, tracker);
    const ada = as('ada', 'treasurer', 'acme');
    await request(app).post('/accounts/A-1/transfers').set(ada).send({ to: 'A-2', amount: 200, memo: 'rent' }).expect(200);
    await postInterest();
    await request(app).post('/accounts/A-1/freeze').set(as('root', 'admin', 'acme')).send({ reason: 'suspected fraud' }).expect(200);
    await request(app).post('/accounts/A-1/transfers').set(ada).send({ to: 'A-2', amount: 10 }).expect(422);
    await tracker.flush();

    const trail = (await request(app).get(`${MOUNT}/entities/account/A-1/audit-trail`).set(as('aud-1', 'auditor', 'acme')).expect(200)).body.data as Array<Record<string, unknown>>;
    const account = (balance: number, frozen: boolean) => ({ owner: 'ada', org: 'acme', balance, frozen });
    expect(trail.map((e) => [e['action'], e['actor'], e['actorType'], e['status'], e['reason'], e['before'], e['after'], e['diff']])).toEqual([
      ['ledger.transfer', 'ada', 'user', 'success', 'rent', account(500, false), account(300, false), [{ path: 'balance', before: 500, after: 300 }]],
      ['ledger.interest_posted', 'interest-job', 'system', 'success', 'monthly interest 1%', account(300, false), account(303, false), [{ path: 'balance', before: 300, after: 303 }]],
      ['ledger.account_frozen', 'root', 'admin', 'success', 'suspected fraud', account(303, false), account(303, true), [{ path: 'frozen', before: false, after: true }]],
      ['ledger.transfer', 'ada', 'user', 'failure', 'account frozen', account(303, true), account(303, true), []],
    ]);

    // Risk: the admin's freeze is a privileged action; nothing else here is risky.
    const scored = await db.knex('user_activity').whereNotNull('entity_type').whereNull('method').orderBy('chain_position')
      .select('action', 'actor_type', 'status', 'risk_score', 'risk_factors', 'severity', 'tenant_id', 'owner_id');
    expect(scored.map((r: Record<string, unknown>) => ({ ...r, risk_score: Number(r['risk_score']) }))).toEqual([
      { action: 'ledger.transfer', actor_type: 'user', status: 'success', risk_score: 0, risk_factors: [], severity: 'info', tenant_id: 'acme', owner_id: 'acme' },
      { action: 'ledger.interest_posted', actor_type: 'system', status: 'success', risk_score: 0, risk_factors: [], severity: 'info', tenant_id: 'acme', owner_id: 'acme' },
      { action: 'ledger.account_frozen', actor_type: 'admin', status: 'success', risk_score: 0.2, risk_factors: ['privileged_action'], severity: 'low', tenant_id: 'acme', owner_id: 'acme' },
      { action: 'ledger.transfer', actor_type: 'user', status: 'failure', risk_score: 0, risk_factors: [], severity: 'info', tenant_id: 'acme', owner_id: 'acme' },
    ]);

    // Another organisation's auditor finds no trail for Acme's account; the chain holds all of it.
    const other = (await request(app).get(`${MOUNT}/entities/account/A-1/audit-trail`).set(as('aud-2', 'auditor', 'globex')).expect(200)).body.data as unknown[];
    expect(other).toEqual([]);
    expect(await verifyChain(db.knex)).toMatchObject({ ok: true });
  });
});
