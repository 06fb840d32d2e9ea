/**
 * A realistic trail for the report-route bench, generated inside PostgreSQL by a few
 * INSERT ... SELECT FROM generate_series statements: a million rows, indexes included, in about
 * half a minute on a 2-core machine. Rows are stored in time order, as a live table fills, and
 * the table's indexes are rebuilt once after the load.
 *
 * Shape: `days` of traffic ending at `now`; `sessions` sessions spread evenly over that time, each
 * lasting up to two hours and belonging to one of `users` users (5% of rows anonymous); every
 * activity type; 1-2% slow, large, 401 and 403 rows; entities with a few hot ids; bursts of failed
 * logins from a few IPs; then the matching activity_sessions and activity_summaries rows.
 */
import type { Knex } from 'knex';
import { listPartitions, nextBoundary, periodStart } from '../lib/store/partitions/partitions';
import { GENESIS_HASH } from '../lib/integrity/encoding';
import { chainRowsSql, CONTENT_COLUMNS } from '../migrations/sql/generator/chainSql';

export interface ReportDataOptions {
  /** Rows of user_activity in total, bursts included. */
  rows: number;
  users: number;
  sessions: number;
  days: number;
  /** The latest time a row may have; reports that default to "the last N days" see the data. */
  now: Date;
  /** Minutes without activity after which a session counts as ended (the tracker's default is 30). */
  sessionTimeoutMinutes: number;
}

export const DEFAULT_REPORT_DATA: Omit<ReportDataOptions, 'now'> = { rows: 1_000_000, users: 2000, sessions: 20_000, days: 90, sessionTimeoutMinutes: 30 };

/** Entity types acted on; ids are skewed so that id 1 of each is hot (tens of rows or more). */
export const ENTITY_TYPES = ['items', 'orders', 'documents', 'invoices', 'customers'] as const;
export const ENTITY_IDS = 5000;

/** Id 1 is the most acted-on id of every entity type (ids are drawn as 5000·u³). */
export const HOT_ENTITY = { type: 'documents', id: '1' } as const;
/** Users are user-0000 to user-NNNN, each with sessions / users sessions; this one is as busy as any. */
export const BUSY_USER = 'user-0042';

/** Addresses the failed-login bursts come from. */
export const ATTACKER_IPS = ['45.133.1.17', '185.220.101.4', '91.240.118.29', '103.75.190.8', '193.32.162.70'];
export const BURSTS = 200;
export const BURST_ATTEMPTS = 25;
export const BURST_SPACING_SECONDS = 8;

export interface TypeSpec {
  type: string;
  share: number;
  method: string;
  /** Route pattern; ':entity' becomes the entity type, ':id' the entity id, ':page' a page name. */
  route: string;
  action: string;
  entity: boolean;
  status: number;
}

/** How often each activity type occurs, and what a request of that type looks like. */
export const TYPES: readonly TypeSpec[] = [
  { type: 'page_view', share: 0.33, method: 'GET', route: '/app/:page', action: 'read', entity: false, status: 200 },
  { type: 'data_view', share: 0.22, method: 'GET', route: '/api/:entity/:id', action: 'read', entity: true, status: 200 },
  { type: 'data_update', share: 0.06, method: 'PUT', route: '/api/:entity/:id', action: 'update', entity: true, status: 200 },
  { type: 'data_create', share: 0.04, method: 'POST', route: '/api/:entity', action: 'create', entity: true, status: 201 },
  { type: 'data_delete', share: 0.01, method: 'DELETE', route: '/api/:entity/:id', action: 'delete', entity: true, status: 204 },
  { type: 'file_download', share: 0.03, method: 'GET', route: '/api/:entity/:id/file', action: 'download', entity: true, status: 200 },
  { type: 'file_upload', share: 0.01, method: 'POST', route: '/api/:entity/:id/file', action: 'upload', entity: true, status: 201 },
  { type: 'login', share: 0.03, method: 'POST', route: '/api/auth/login', action: 'login', entity: false, status: 200 },
  { type: 'logout', share: 0.02, method: 'POST', route: '/api/auth/logout', action: 'logout', entity: false, status: 200 },
  { type: 'token_refresh', share: 0.03, method: 'POST', route: '/api/auth/refresh', action: 'refresh', entity: false, status: 200 },
  { type: 'login_failed', share: 0.008, method: 'POST', route: '/api/auth/login', action: 'login', entity: false, status: 401 },
  { type: 'error', share: 0.012, method: 'GET', route: '/api/:entity/:id', action: 'read', entity: true, status: 500 },
  { type: 'system_action', share: 0.015, method: 'POST', route: '/api/jobs/run', action: 'reindex', entity: false, status: 200 },
  { type: 'session_start', share: 0.02, method: 'GET', route: '/app/:page', action: 'session_start', entity: false, status: 200 },
  { type: 'session_end', share: 0.02, method: 'POST', route: '/api/auth/logout', action: 'session_end', entity: false, status: 200 },
  { type: 'authz_fail', share: 0.005, method: 'GET', route: '/api/admin/users', action: 'read', entity: false, status: 403 },
  { type: 'audit_read', share: 0.008, method: 'GET', route: '/api/activity-tracking/activities', action: 'report.read', entity: false, status: 200 },
  { type: 'audit_export', share: 0.002, method: 'GET', route: '/api/activity-tracking/export', action: 'report.export', entity: false, status: 200 },
];

export const PAGES = ['dashboard', 'catalog', 'orders', 'settings', 'reports', 'profile', 'search', 'help'];
export const BROWSERS = ['Chrome 126.0.0.0', 'Firefox 128.0', 'Safari 17.5', 'Edge 126.0.0.0', 'Mobile Safari 17.5', 'curl 8.5.0'];
export const SYSTEMS = ['Windows 10', 'Ubuntu', 'Mac OS 14.5', 'Windows 10', 'iOS 17.5', ''];
export const DEVICES = ['desktop', 'desktop', 'desktop', 'desktop', 'mobile', 'cli'];
export const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'curl/8.5.0',
];
export const COUNTRIES = ['US', 'DE', 'GB', 'FR', 'JP', 'BR', 'IN', 'CA'];
export const REGIONS = ['CA', 'BE', 'ENG', 'IDF', '13', 'SP', 'MH', 'ON'];
export const CITIES = ['San Francisco', 'Berlin', 'London', 'Paris', 'Tokyo', 'São Paulo', 'Mumbai', 'Toronto'];
export const ZONES = ['America/Los_Angeles', 'Europe/Berlin', 'Europe/London', 'Europe/Paris', 'Asia/Tokyo', 'America/Sao_Paulo', 'Asia/Kolkata', 'America/Toronto'];

/** What was generated, for the bench's report. */
export interface ReportDataSummary {
  activities: number;
  sessions: number;
  activeSessions: number;
  summaries: number;
  /** An entity with many rows, for the audit-trail route. */
  hotEntity: { type: string; id: string; rows: number };
  /** A user with many rows. */
  busyUser: { id: string; rows: number };
  seconds: { activities: number; sessions: number; analyze: number };
}

/**
 * Fills user_activity, activity_sessions and activity_summaries of an empty, migrated schema.
 * Runs on one connection (a transaction) so `setseed` makes the data the same on every run.
 */
export async function generateReportData(knex: Knex, options: ReportDataOptions): Promise<ReportDataSummary> {
  const started = performance.now();
  const burstRows = Math.min(BURSTS * BURST_ATTEMPTS, Math.floor(options.rows / 10));
  await coverWithPartitions(knex, new Date(options.now.getTime() - (options.days + 1) * 86_400_000));
  await knex.transaction(async (trx) => {
    // Index builds, and the sort that puts rows in time order, stay in memory rather than spill to disk.
    await trx.raw("set local maintenance_work_mem = '512MB'");
    await trx.raw("set local work_mem = '256MB'");
    await trx.raw('select setseed(0.4242)');
    // Building each index once over the loaded table is several times faster than maintaining seven during the load.
    const indexes = await dropIndexes(trx, 'user_activity');
    // Generated rows are written straight into the table, then chained in one pass, as the
    // migration chains rows stored before it; the table's guards are set aside meanwhile.
    await trx.raw('alter table user_activity disable trigger user');
    for (const column of ['chain_position', 'prev_hash', 'row_hash']) await trx.raw(`alter table user_activity alter column ${column} drop not null`);
    await insertActivities(trx, options, options.rows - burstRows);
    await insertBursts(trx, options, burstRows);
    await chainAll(trx);
    for (const column of ['chain_position', 'prev_hash', 'row_hash']) await trx.raw(`alter table user_activity alter column ${column} set not null`);
    await trx.raw('alter table user_activity enable trigger user');
    await restoreIndexes(trx, 'user_activity', indexes);
  });
  const activitiesDone = performance.now();
  await knex.transaction(async (trx) => {
    await insertSessions(trx, options);
    await insertSummaries(trx, options);
  });
  const sessionsDone = performance.now();
  // Chaining updated every generated row: rewrite the table without the dead versions, in time
  // order as a live table fills, so the reads measure a table as production would have it.
  await knex.raw('cluster user_activity using user_activity_start_time_idx');
  await analyzeReportTables(knex);
  const analyzed = performance.now();
  return {
    ...(await countGenerated(knex)),
    seconds: { activities: (activitiesDone - started) / 1000, sessions: (sessionsDone - activitiesDone) / 1000, analyze: (analyzed - sessionsDone) / 1000 },
  };
}

/** Fresh planner statistics of the three report tables. */
export async function analyzeReportTables(knex: Knex): Promise<void> {
  // VACUUM as autovacuum would by now (insert-only tables are vacuumed since PostgreSQL 13): without
  // the visibility map it sets, every count reads the heap (a capped count of 10,000 matches took
  // 110-245 ms instead of 2-52 ms on ten million rows).
  await knex.raw('vacuum (analyze) user_activity');
  await knex.raw('analyze activity_sessions');
  await knex.raw('analyze activity_summaries');
}

/**
 * On a partitioned trail, creates the monthly partitions from `since` up to the first dated one
 * (the migration makes them from this month on), so the generated months land in partitions of
 * their own as they would have, and not in the default one. Returns every partition's name; none
 * for a table that is not partitioned (a schema before migration 20261208000000_time_partitions).
 */
export async function coverWithPartitions(knex: Knex, since: Date): Promise<string[]> {
  const kind = (await knex.raw("select relkind from pg_class where oid = 'user_activity'::regclass")) as { rows: Array<{ relkind: string }> };
  if (kind.rows[0]?.relkind !== 'p') return [];
  const first = (await listPartitions(knex)).find((p) => !p.isDefault && p.from !== null);
  for (let from = periodStart(since, 'month'); first?.from && from < first.from;) {
    const to = nextBoundary(from, 'month') < first.from ? nextBoundary(from, 'month') : first.from;
    await knex.raw('select activity_tracking_create_partition(?::timestamptz, ?::timestamptz)', [from.toISOString(), to.toISOString()]);
    from = to;
  }
  return (await listPartitions(knex)).map((p) => p.name);
}

/** What a generator made, counted from the tables. */
export async function countGenerated(knex: Knex): Promise<Omit<ReportDataSummary, 'seconds'>> {
  const count = async (sql: string, bindings: readonly Knex.Value[] = []): Promise<number> => {
    const result = (await knex.raw(sql, bindings)) as { rows: Array<{ n: string | number }> };
    return Number(result.rows[0]?.n ?? 0);
  };
  return {
    activities: await count('select count(*) as n from user_activity'),
    sessions: await count('select count(*) as n from activity_sessions'),
    activeSessions: await count('select count(*) as n from activity_sessions where is_active'),
    summaries: await count('select count(*) as n from activity_summaries'),
    hotEntity: { ...HOT_ENTITY, rows: await count('select count(*) as n from user_activity where entity_type = ? and entity_id = ?', [HOT_ENTITY.type, HOT_ENTITY.id]) },
    busyUser: { id: BUSY_USER, rows: await count('select count(*) as n from user_activity where user_id = ?', [BUSY_USER]) },
  };
}

/** Gives every row its chain position and hashes, in time order. */
async function chainAll(trx: Knex.Transaction): Promise<void> {
  const rows = `(select ${CONTENT_COLUMNS}, row_number() over (order by start_time, id) as k from user_activity)`;
  await trx.raw(`update user_activity t set chain_position = c.position, prev_hash = c.prev_hash, row_hash = c.row_hash
    from (${chainRowsSql(rows, '0::bigint', `'${GENESIS_HASH}'::text`)}) c where t.id = c.id`);
}

export interface DroppedIndex {
  name: string;
  /** CREATE INDEX statement, or the constraint definition when the index backs a constraint. */
  definition: string;
  constraint: boolean;
}

/** Drops every index of the table (constraints too) and says how to build each again, whatever the migrations made. */
export async function dropIndexes(trx: Knex.Transaction, table: string): Promise<DroppedIndex[]> {
  const found = (await trx.raw(`
    select i.indexrelid::regclass::text as index_name, pg_get_indexdef(i.indexrelid) as index_def, c.conname, pg_get_constraintdef(c.oid) as constraint_def
    from pg_index i left join pg_constraint c on c.conindid = i.indexrelid and c.conrelid = i.indrelid
    where i.indrelid = ?::regclass`, [table])) as { rows: Array<{ index_name: string; index_def: string; conname: string | null; constraint_def: string | null }> };
  const dropped: DroppedIndex[] = [];
  for (const row of found.rows) {
    if (row.conname !== null && row.constraint_def !== null) {
      await trx.raw('alter table ?? drop constraint ??', [table, row.conname]);
      dropped.push({ name: row.conname, definition: row.constraint_def, constraint: true });
    } else {
      await trx.raw(`drop index ${row.index_name}`);
      dropped.push({ name: row.index_name, definition: row.index_def, constraint: false });
    }
  }
  return dropped;
}

export async function restoreIndexes(trx: Knex.Transaction, table: string, indexes: readonly DroppedIndex[]): Promise<void> {
  for (const index of indexes) {
    // Definitions come from the catalog (pg_get_indexdef / pg_get_constraintdef), not from input.
    if (index.constraint) await trx.raw(`alter table ?? add constraint ?? ${index.definition}`, [table, index.name]);
    // A partitioned table's index reads back as ON ONLY, which would make an empty, invalid parent: rebuilt with its partitions' parts.
    else await trx.raw(index.definition.replace(/ ON ONLY /, ' ON '));
  }
}

/**
 * The bulk of the rows. Each row picks a session (which fixes user, IP, device and place) and an
 * activity type by its share; a session's rows fall within two hours after its start. Ids are
 * UUID v7 built from the row's time, as the recorder makes them, so they sort by time.
 */
async function insertActivities(trx: Knex.Transaction, o: ReportDataOptions, n: number): Promise<void> {
  // Bucket i of width_bucket is [thresholds[i-1], thresholds[i]); shares are scaled to sum to one.
  const total = TYPES.reduce((sum, t) => sum + t.share, 0);
  const thresholds: number[] = [];
  let cumulative = 0;
  for (const t of TYPES) {
    thresholds.push(cumulative / total);
    cumulative += t.share;
  }
  const spanSeconds = o.days * 86_400;
  const sql = `
    insert into user_activity (id, user_id, session_id, activity_type, entity_type, entity_id, action, details, ip_address, user_agent,
      browser, operating_system, device_info, location, duration, start_time, end_time, method, path, route, status_code, success,
      request_size, response_size, created_at)
    with raw as materialized (
      select g, s, r_type, r_status, r_dur, r_size, r_ent, r_id, r_anon, r_page,
        -- sessions start evenly over the span; the last ones are clamped to end before now
        least(:now::timestamptz - make_interval(secs => :span) + make_interval(secs => (s::float8 / :sessions) * :span + r_time * 7200),
              :now::timestamptz - make_interval(secs => r_time * 600)) as ts
      from (
        select g, floor(random() * :sessions)::int as s, random() as r_time, random() as r_type, random() as r_status, random() as r_dur,
          random() as r_size, random() as r_ent, random() as r_id, random() as r_anon, random() as r_page
        from generate_series(1, :n::int) as g
        offset 0 -- a fence: each draw is made once, not once per reference
      ) as draws
      -- stored in time order, as a live table fills, so the heap correlates with start_time as it would in production
      order by ts
    ), typed as (
      select raw.*, width_bucket(r_type, :thresholds::float8[]) as k, (s % 6) + 1 as b, (s % 8) + 1 as c, md5(g::text) as h
      from raw
    ), shaped as (
      select typed.*,
        (:types::text[])[k] as activity_type,
        (:hasEntity::boolean[])[k] as has_entity,
        (:entityTypes::text[])[1 + floor(r_ent * :entityTypeCount)::int] as ent_type,
        (1 + floor(:entityIds * power(r_id, 3)))::int::text as ent_id,
        case
          when (:statuses::int[])[k] >= 400 then (:statuses::int[])[k]
          when r_status < 0.008 then 401
          when r_status < 0.016 then 403
          when r_status < 0.03 then 404
          when r_status < 0.035 then 400
          else (:statuses::int[])[k]
        end as status,
        case when r_dur < 0.015 then 5000 + r_dur / 0.015 * 25000 else 2 + power(r_dur, 3) * 400 end as dur
      from typed
    )
    select
      (lpad(to_hex((extract(epoch from ts) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
      case when r_anon < 0.05 then null else 'user-' || lpad((s % :users)::text, 4, '0') end,
      md5('session-' || s),
      activity_type,
      case when has_entity then ent_type end,
      case when has_entity then ent_id end,
      (:actions::text[])[k],
      -- jsonb from text: cheaper per row than nested jsonb_build_object calls
      (case when has_entity then '{"params": {"id": "' || ent_id || '"}, ' else '{"params": {}, ' end
        || '"query": {"page": "' || (g % 5 + 1) || '", "fields": "name,price"}, '
        || '"headers": {"accept": "application/json, text/plain, */*", "accept-language": "en-US,en;q=0.9"}}')::jsonb,
      format('%s.%s.%s.%s', 11 + (s * 7) % 200, (s * 13) % 256, (s * 29) % 256, 1 + (s * 31) % 254),
      (:agents::text[])[b],
      (:browsers::text[])[b],
      nullif((:systems::text[])[b], ''),
      (:devices::jsonb[])[b],
      (:locations::jsonb[])[c],
      round(dur::numeric, 3)::float8,
      ts,
      ts + make_interval(secs => dur / 1000),
      (:methods::text[])[k],
      replace(replace(replace((:routes::text[])[k], ':entity', ent_type), ':id', ent_id), ':page', (:pages::text[])[1 + floor(r_page * :pageCount)::int]),
      replace((:routes::text[])[k], ':entity', ent_type),
      status,
      status < 400,
      case when (:methods::text[])[k] in ('POST', 'PUT') then 100 + floor(r_size * 4000)::int end,
      case when r_size < 0.01 then 11000000 + floor(r_size / 0.01 * 40000000)::int else 200 + floor(power(r_size, 2) * 60000)::int end,
      ts + make_interval(secs => dur / 1000 + 0.02)
    from shaped`;
  await trx.raw(sql, {
    sessions: o.sessions,
    n,
    thresholds,
    now: o.now,
    span: spanSeconds,
    types: TYPES.map((t) => t.type),
    hasEntity: TYPES.map((t) => t.entity),
    entityTypes: [...ENTITY_TYPES],
    entityTypeCount: ENTITY_TYPES.length,
    entityIds: ENTITY_IDS,
    statuses: TYPES.map((t) => t.status),
    users: o.users,
    actions: TYPES.map((t) => t.action),
    agents: AGENTS,
    browsers: BROWSERS,
    systems: SYSTEMS,
    devices: DEVICES.map((type, i) => JSON.stringify({ type, vendor: i === 4 ? 'Apple' : null, model: i === 4 ? 'iPhone' : null })),
    locations: COUNTRIES.map((country, i) => JSON.stringify({ country, region: REGIONS[i], city: CITIES[i], timezone: ZONES[i] })),
    methods: TYPES.map((t) => t.method),
    routes: TYPES.map((t) => t.route),
    pages: PAGES,
    pageCount: PAGES.length,
  });
}

/**
 * Credential stuffing: bursts of failed logins from a few IPs, one attempt every few seconds
 * against rotating accounts, spread over the whole span (about two a day, so the last 24 hours
 * hold some).
 */
async function insertBursts(trx: Knex.Transaction, o: ReportDataOptions, n: number): Promise<void> {
  if (n <= 0) return;
  const sql = `
    insert into user_activity (id, user_id, session_id, activity_type, entity_type, entity_id, action, details, ip_address, user_agent,
      browser, operating_system, device_info, location, duration, start_time, end_time, method, path, route, status_code, success,
      request_size, response_size, created_at)
    with attempts as (
      select g, (g / :attempts) as burst, g % :attempts as attempt from generate_series(0, :n::int - 1) as g
    ), timed as (
      select g, burst, attempt,
        :now::timestamptz - make_interval(secs => (burst::float8 / :bursts) * :span + 1800) + make_interval(secs => attempt * :spacing) as ts,
        40 + random() * 120 as dur
      from attempts
    )
    select
      (lpad(to_hex((extract(epoch from ts) * 1000)::bigint), 12, '0') || '7' || substr(md5('b' || g), 1, 3) || '9' || substr(md5('b' || g), 4, 15))::uuid,
      'user-' || lpad(((burst * 7 + attempt * 13) % :users)::text, 4, '0'),
      null,
      'login_failed',
      null, null,
      'login',
      jsonb_build_object('body', jsonb_build_object('username', 'user-' || lpad(((burst * 7 + attempt * 13) % :users)::text, 4, '0'), 'password', '[REDACTED]')),
      (:ips::text[])[1 + burst % :ipCount],
      'python-requests/2.31.0', 'python-requests 2.31.0', null,
      jsonb_build_object('type', 'cli', 'vendor', null, 'model', null),
      jsonb_build_object('country', 'NL', 'region', 'NH', 'city', 'Amsterdam', 'timezone', 'Europe/Amsterdam'),
      round(dur::numeric, 3)::float8,
      ts, ts + make_interval(secs => dur / 1000),
      'POST', '/api/auth/login', '/api/auth/login', 401, false, 64, 48,
      ts + make_interval(secs => dur / 1000 + 0.02)
    from timed`;
  await trx.raw(sql, { attempts: BURST_ATTEMPTS, n, now: o.now, bursts: BURSTS, span: o.days * 86_400, spacing: BURST_SPACING_SECONDS, users: o.users, ips: ATTACKER_IPS, ipCount: ATTACKER_IPS.length });
}

/** One row per session, as the recorder keeps them: active while its last activity is within the timeout. */
export async function insertSessions(trx: Knex.Transaction, o: ReportDataOptions): Promise<void> {
  await trx.raw(`
    insert into activity_sessions (session_id, user_id, start_time, end_time, duration, page_views, actions_count, ip_address, user_agent,
      device_info, is_active, last_activity, created_at, updated_at)
    select session_id, max(user_id), min(start_time),
      case when max(start_time) < :cutoff::timestamptz then max(coalesce(end_time, start_time)) end,
      extract(epoch from max(start_time) - min(start_time)) * 1000,
      count(*) filter (where activity_type = 'page_view'),
      count(*) filter (where activity_type <> 'page_view'),
      min(ip_address), min(user_agent),
      (array_agg(device_info))[1], -- a session keeps one device
      max(start_time) >= :cutoff::timestamptz,
      max(start_time), min(created_at), max(created_at)
    from user_activity
    where session_id is not null
    group by session_id`, { cutoff: new Date(o.now.getTime() - o.sessionTimeoutMinutes * 60_000) });
}

/** The per-user, per-day rollup a deployment's job keeps. */
export async function insertSummaries(trx: Knex.Transaction, o: ReportDataOptions): Promise<void> {
  await trx.raw(`
    insert into activity_summaries (user_id, day, requests, page_views, data_changes, errors, sessions, total_duration, avg_duration, last_activity, updated_at)
    select user_id, (start_time at time zone 'UTC')::date,
      count(*),
      count(*) filter (where activity_type = 'page_view'),
      count(*) filter (where activity_type in ('data_create', 'data_update', 'data_delete')),
      count(*) filter (where not success),
      count(*) filter (where activity_type = 'session_start'),
      coalesce(sum(duration), 0), avg(duration), max(start_time), :now::timestamptz
    from user_activity
    where user_id is not null
    group by 1, 2`, { now: o.now });
}
