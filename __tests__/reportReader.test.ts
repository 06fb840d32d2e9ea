/** lib/store/reports/reader.ts: every read of a report request goes through the one tenant wrapper. */
import { reports, type ReportReader } from '../lib/store/reports/reader';
import { EVERY_TENANT, tenantOnly, type TenantScope } from '../lib/store/reports/tenantScope';
import { TENANT_SETTING } from '../lib/store/rowLevelSecurity';
import { openTestDatabase, usingPostgres, type TestDatabase } from './support/database';

const PERIOD = { startDate: new Date(Date.now() - 86_400_000), endDate: new Date() };
const PAGING = { limit: 10, offset: 0 };
const THRESHOLDS = { slowRequestMs: 5000, largeResponseBytes: 10_485_760, failedLoginThreshold: 5, failedLoginWindowMinutes: 15 };

/** One call of each of the reader's methods, by name, so a method added without a line here fails the count below. */
const READS: Record<keyof ReportReader, (reader: ReportReader) => Promise<unknown>> = {
  activities: (r) => r.activities({}, { ...PAGING, orderBy: 'startTime', order: 'desc' }),
  activity: (r) => r.activity('00000000-0000-7000-8000-000000000000'),
  stats: (r) => r.stats(PERIOD),
  lastPosition: (r) => r.lastPosition(),
  rowsAfterPosition: (r) => r.rowsAfterPosition({}, 0, 10),
  activeSessions: (r) => r.activeSessions({ since: PERIOD.startDate }, PAGING),
  userSessions: (r) => r.userSessions('ann', PAGING),
  userSummary: (r) => r.userSummary('ann', PERIOD),
  suspicious: (r) => r.suspicious({ ...PERIOD, limit: 10, thresholds: THRESHOLDS }),
  auditTrail: (r) => r.auditTrail({ entityType: 'invoice', entityId: '100', ...PAGING }),
  exportRows: (r) => r.exportRows({}, 'desc').next(),
  // The embedded database has no COPY to stream; the export reads exportRows there.
  exportCsv: (r) => (usingPostgres ? r.exportCsv({}, 'desc', async (chunks) => { for await (const _ of chunks) break; }) : r.exportRows({}, 'asc').next()),
  compliance: (r) => r.compliance(PERIOD),
  alerts: (r) => r.alerts({}, PAGING),
  alert: (r) => r.alert('00000000-0000-7000-8000-000000000000'),
  databaseProbe: (r) => r.databaseProbe(2000),
  rowLevelSecurityBinding: (r) => r.rowLevelSecurityBinding(),
};

interface SeenQuery { sql: string; bindings: unknown[]; transaction: string | undefined }

let db: TestDatabase;
let seen: SeenQuery[] = [];
const listen = (query: { sql: string; bindings?: unknown[]; __knexTxId?: string }): void => {
  seen.push({ sql: query.sql, bindings: query.bindings ?? [], transaction: query.__knexTxId });
};

beforeAll(async () => {
  db = await openTestDatabase();
  db.knex.on('query', listen);
});
afterAll(async () => {
  db.knex.off('query', listen);
  await db.destroy();
});
beforeEach(() => { seen = []; });

async function queriesOf(name: keyof ReportReader, scope: TenantScope, rowLevelSecurity: boolean): Promise<SeenQuery[]> {
  seen = [];
  await READS[name](reports(db.knex, scope, rowLevelSecurity));
  return seen;
}

describe('reports(): the reads of one report request', () => {
  it('has a read here for every method', () => {
    expect(Object.keys(READS).sort()).toEqual(Object.keys(reports(db.knex, EVERY_TENANT, false)).sort());
  });

  it.each(Object.keys(READS) as Array<keyof ReportReader>)('%s reads on the shared pool when the scope is every tenant, or row-level security is off', async (name) => {
    for (const [scope, rowLevelSecurity] of [[EVERY_TENANT, true], [tenantOnly('acme'), false]] as const) {
      const queries = await queriesOf(name, scope, rowLevelSecurity);
      // The embedded database answers the binding check without a query: it has one superuser.
      if (name !== 'rowLevelSecurityBinding' || usingPostgres) expect(queries.length).toBeGreaterThan(0);
      expect(queries.filter((q) => q.transaction !== undefined)).toEqual([]);
    }
  });

  (usingPostgres ? it.each : it.skip.each)(Object.keys(READS) as Array<keyof ReportReader>)('%s of a tenant caller under row-level security runs in a read-only transaction that sets the tenant (PostgreSQL)', async (name) => {
    const queries = await queriesOf(name, tenantOnly('acme'), true);
    const reads = queries.filter((q) => !/^(begin|commit|rollback|set transaction|select set_config)/i.test(q.sql.trim()));
    expect(reads.length).toBeGreaterThan(0);
    const tenantTransactions = new Set(queries
      .filter((q) => q.sql.startsWith('select set_config') && q.bindings[0] === TENANT_SETTING && q.bindings[1] === 'acme')
      .map((q) => q.transaction));
    for (const read of reads) expect({ sql: read.sql, inTenantTransaction: tenantTransactions.has(read.transaction) && read.transaction !== undefined }).toEqual({ sql: read.sql, inTenantTransaction: true });
    expect(queries.some((q) => q.sql === 'set transaction read only')).toBe(true);
  });
});
