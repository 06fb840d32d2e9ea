import { TOP_ACTIONS, TOP_N, type Group, type ActivityTotals } from './stats';
import { rollupDistinct, rollupGroups, rollupTotals, type RollupGroup, type RollupSource, type RollupTotals, type Sql } from './rollupReads';
import { isoOrNull } from './rowValues';

/** The rows GET /stats and GET /me/summary count: asset requests left out (statsRows in stats.ts). */
const USED = { rollup: [{ sql: `r.key <> 'asset'`, bindings: [] }] as Sql[], raw: [{ sql: `user_activity.activity_type <> 'asset'`, bindings: [] }] as Sql[] };
/** The statistics' order: largest first, text keys in byte order, null last (groupCounts in stats.ts). */
const BY_COUNT = 'count desc, key collate "C" asc nulls last';

function totalsOf(totals: RollupTotals, uniqueUsers: number, uniqueSessions: number): ActivityTotals {
  return {
    totalActivities: totals.total,
    uniqueUsers,
    uniqueSessions,
    totalDuration: totals.durationSum ?? 0,
    averageDuration: totals.durationCount === 0 || totals.durationSum === null ? 0 : totals.durationSum / totals.durationCount,
    errorCount: totals.errors,
    lastActivity: isoOrNull(totals.lastActivity),
  };
}

const groupsOf = (groups: RollupGroup[]): Group[] => groups.map((g) => ({ key: g.key, count: g.count }));

/** GET /stats over a rollup plan: the totals and the breakdowns of activityStats, in its order, read side by side. */
export async function statsFromRollups(source: RollupSource): Promise<[ActivityTotals, [Group[], Group[], Group[], Group[], Group[], Group[], Group[], Group[], Group[], Group[]]]> {
  const top = { order: BY_COUNT, limit: TOP_N };
  const groups = (name: Parameters<typeof rollupGroups>[1], options: Parameters<typeof rollupGroups>[2]): Promise<Group[]> => rollupGroups(source, name, options).then(groupsOf);
  const [totals, users, sessions, ...breakdowns] = await Promise.all([
    rollupTotals(source, 'type', USED),
    rollupDistinct(source, 'user', 'key'),
    rollupDistinct(source, 'user_session', 'key2'),
    groups('type', { order: BY_COUNT, rollupExtra: USED.rollup, rawExtra: USED.raw }),
    groups('hour', { order: 'key::int asc nulls last' }).then((hours) => hours.map((g) => ({ key: Number(g.key), count: g.count }))),
    groups('path', top),
    groups('user', top),
    groups('device', top),
    groups('browser', top),
    groups('os', top),
    groups('country', top),
    groups('action', { order: BY_COUNT, limit: TOP_ACTIONS }),
    groups('actor_type', { order: BY_COUNT }),
  ]);
  return [totalsOf(totals, users, sessions), breakdowns as [Group[], Group[], Group[], Group[], Group[], Group[], Group[], Group[], Group[], Group[]]];
}

/** GET /me/summary over a rollup plan of one user's rows (source.userId): the totals and the type breakdown. */
export async function summaryFromRollups(source: RollupSource): Promise<[ActivityTotals, Group[]]> {
  const [totals, sessions, byType] = await Promise.all([
    rollupTotals(source, 'user_type'),
    rollupDistinct(source, 'user_session', 'key2'),
    rollupGroups(source, 'user_type', { order: BY_COUNT, of: 'key2' }),
  ]);
  return [totalsOf(totals, 0, sessions), groupsOf(byType)];
}
