import { rollupGroups, rollupTotals, type RollupSource } from './rollupReads';

/** TOP_FAILING_LIMIT of compliance.ts (its own constant here: compliance.ts imports this file). */
const TOP_FAILING = 10;

/** The compliance report's counts over a rollup plan, shaped as its scanning queries return them. */
export interface ComplianceCounts {
  byType: Array<Record<string, unknown>>;
  failingIps: Array<Record<string, unknown>>;
  failingAccounts: Array<Record<string, unknown>>;
  privilegedCount: number;
}

/**
 * The per-type counts with failures, the top failing IPs and accounts and the number of privileged
 * rows, in the orders of complianceFigures (its keys in the database's collation, as its
 * `order by activity_type` and the others sort them).
 */
export async function complianceCounts(source: RollupSource): Promise<ComplianceCounts> {
  const [byType, ips, accounts, privileged] = await Promise.all([
    rollupGroups(source, 'type', { order: 'count desc, key asc' }),
    rollupGroups(source, 'failed_ip', { order: 'count desc, key asc', limit: TOP_FAILING }),
    rollupGroups(source, 'failed_user', { order: 'count desc, key asc', limit: TOP_FAILING }),
    rollupTotals(source, 'privileged'),
  ]);
  return {
    byType: byType.map((g) => ({ activity_type: g.key, count: g.count, failures: g.errors })),
    failingIps: ips.map((g) => ({ ip_address: g.key, failures: g.count })),
    failingAccounts: accounts.map((g) => ({ user_id: g.key, failures: g.count })),
    privilegedCount: privileged.total,
  };
}
