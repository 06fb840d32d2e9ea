import { insertColumns, scoredColumns } from '../../../lib/store/columns';
import { V3_CONTENT_COLUMNS } from '../../../lib/integrity/encodingV3';
import { GENESIS_HASH } from '../../../lib/integrity/encoding';
import { CHAIN_LOCK_KEY } from '../../../lib/store/chainLock';
import { chainRowsSql } from './chainSql';
import { RISK_COLUMNS, RISK_DECLARATIONS, riskCtes } from './riskScoring';

/**
 * The append function's SQL. Nothing here runs in the package: migrations install frozen copies
 * (migrations/sql/*.ts, written by `npm run sql:freeze`), and a test ties the newest one to this.
 */

/** Each column of user_activity a batch carries, the ActivityEvent field it comes from, and its type. */
const COLUMNS: ReadonlyArray<readonly [column: string, field: string, type: string]> = insertColumns().map(({ column, field, type }) => [column, field, type]);
export const COLUMN_LIST = COLUMNS.map(([column]) => column).join(', ');
/** The events are serialized as they are (no per-row copy); their camelCase fields are renamed here. */
export const RECORD_DEFINITION = COLUMNS.map(([, field, type]) => `"${field}" ${type === 'timestamptz' ? 'double precision' : type}`).join(', ');
/** Times travel as epoch milliseconds: serializing a Date costs more than the rest of a row. */
export const SELECT_LIST = COLUMNS.map(([column, field, type]) => (type === 'timestamptz' ? `to_timestamp("${field}" / 1000.0) as ${column}` : `"${field}" as ${column}`)).join(', ');

/**
 * One statement per batch, run by activity_tracking_append right after it takes the chain lock: the rows travel
 * as a single JSON parameter (serialized once, natively, instead of thousands of bind values); rows
 * not already stored (a replayed event keeps its id) take the next chain positions in batch order,
 * each hashed over its content and the previous row's hash; only the rows actually inserted update
 * their sessions and their users' daily summaries (a session counts on the day it started, for the
 * user known when its row was created). With p_risk, each new row is scored for risk (riskScoring.ts)
 * before it is chained. Sessions are upserted in session_id order, one lock order for every writer, so
 * concurrent batches cannot deadlock.
 */
function writeBatchSql(form: BatchForm): string {
  return `
with incoming as (
  ${form.incoming}
), fresh as (
  select i.*, row_number() over (order by i.n) as k
    from incoming i
   where not exists (select 1 from user_activity u where u.id = i.id)
), ${riskCtes([...COLUMNS.map(([column]) => column), ...form.carried], RISK_COLUMNS, form.fenced)}, head as (
  -- The newest row; or, should retention ever have removed every row, the end of the last run.
  select chain_position, row_hash from (
    (select chain_position, row_hash, 1 as preference from user_activity order by chain_position desc limit 1)
    union all
    (select to_position, last_removed_hash, 2 from activity_retention order by to_position desc limit 1)
  ) candidates order by preference limit 1
), start as (
  select coalesce((select chain_position from head), 0) as position,
         coalesce((select row_hash from head), '${GENESIS_HASH}') as hash
), chain as (
  ${form.chain}
), inserted as (
  insert into user_activity (${COLUMN_LIST}, chain_position, prev_hash, row_hash${form.insertColumns})
  select ${COLUMNS.map(([column]) => `c.${column}`).join(', ')}, c.position, c.prev_hash, c.row_hash${form.insertValues}
    from chain c
  returning session_id, user_id, activity_type, start_time, end_time, ip_address, user_agent, device_info, method, success, duration, tenant_id
), deltas as (
  select session_id,
         (array_agg(user_id order by start_time desc) filter (where user_id is not null))[1] as user_id,
         min(start_time) as start_time,
         max(coalesce(end_time, start_time)) as last_activity,
         count(*) filter (where activity_type = 'page_view') as page_views,
         count(*) filter (where activity_type <> 'page_view') as actions_count,
         (array_agg(ip_address order by start_time))[1] as ip_address,
         (array_agg(user_agent order by start_time))[1] as user_agent,
         (array_agg(device_info order by start_time))[1] as device_info,
         (array_agg(tenant_id order by start_time desc) filter (where tenant_id is not null))[1] as tenant_id
    from inserted
   where session_id is not null and activity_type not in ('session_start', 'session_end')
   group by session_id
), ended_before as (
  -- Sessions that had ended (logout or timeout) and see activity again: they start over.
  select session_id from activity_sessions where session_id in (select session_id from deltas) and not is_active
), sessions as (
  insert into activity_sessions (session_id, user_id, start_time, last_activity, duration, page_views, actions_count, ip_address, user_agent, device_info, tenant_id)
  select session_id, user_id, start_time, last_activity, extract(epoch from (last_activity - start_time)) * 1000,
         page_views, actions_count, ip_address, user_agent, device_info, tenant_id
    from deltas
   order by session_id
  on conflict (session_id) do update set
    user_id = coalesce(excluded.user_id, activity_sessions.user_id),
    tenant_id = coalesce(excluded.tenant_id, activity_sessions.tenant_id),
    start_time = least(activity_sessions.start_time, excluded.start_time),
    last_activity = greatest(activity_sessions.last_activity, excluded.last_activity),
    duration = extract(epoch from (greatest(activity_sessions.last_activity, excluded.last_activity) - least(activity_sessions.start_time, excluded.start_time))) * 1000,
    page_views = activity_sessions.page_views + excluded.page_views,
    actions_count = activity_sessions.actions_count + excluded.actions_count,
    is_active = true,
    end_time = null,
    updated_at = now()
  returning session_id, user_id, start_time, ip_address, user_agent, device_info, tenant_id, (xmax = 0) as created
), day_deltas as (
  select user_id, day,
         sum(requests) as requests, sum(page_views) as page_views, sum(data_changes) as data_changes, sum(errors) as errors,
         sum(sessions) as sessions, sum(total_duration) as total_duration, max(last_activity) as last_activity
    from (
      select user_id, (start_time at time zone 'UTC')::date as day,
             count(*) filter (where method is not null) as requests,
             count(*) filter (where activity_type = 'page_view') as page_views,
             count(*) filter (where activity_type in ('data_create', 'data_update', 'data_delete')) as data_changes,
             count(*) filter (where not success) as errors,
             0 as sessions,
             coalesce(sum(duration) filter (where method is not null), 0) as total_duration,
             max(coalesce(end_time, start_time)) as last_activity
        from inserted where user_id is not null
       group by 1, 2
      union all
      select user_id, (start_time at time zone 'UTC')::date, 0, 0, 0, 0, count(*), 0, null
        from sessions where created and user_id is not null
       group by 1, 2
    ) parts
   group by user_id, day
), summaries as (
  insert into activity_summaries (user_id, day, requests, page_views, data_changes, errors, sessions, total_duration, avg_duration, last_activity)
  select user_id, day, requests, page_views, data_changes, errors, sessions, total_duration,
         case when requests > 0 then total_duration / requests end, last_activity
    from day_deltas
   order by user_id, day
  on conflict (user_id, day) do update set
  requests = activity_summaries.requests + excluded.requests,
  page_views = activity_summaries.page_views + excluded.page_views,
  data_changes = activity_summaries.data_changes + excluded.data_changes,
  errors = activity_summaries.errors + excluded.errors,
  sessions = activity_summaries.sessions + excluded.sessions,
  total_duration = activity_summaries.total_duration + excluded.total_duration,
  avg_duration = (activity_summaries.total_duration + excluded.total_duration) / nullif(activity_summaries.requests + excluded.requests, 0),
  last_activity = greatest(activity_summaries.last_activity, excluded.last_activity),
  updated_at = now()
)
-- What the function does next: start the sessions this batch opened, end those it logged out of.
select
  coalesce((
    select jsonb_agg(jsonb_build_object(
             'id', gen_random_uuid(), 'userId', s.user_id, 'sessionId', s.session_id, 'activityType', 'session_start',
             'action', case when s.created then 'session.start' else 'session.resume' end,
             'startTime', round(extract(epoch from d.start_time) * 1000), 'success', true,
             'ipAddress', d.ip_address, 'userAgent', d.user_agent, 'deviceInfo', d.device_info, 'tenantId', s.tenant_id)
           order by s.session_id)
      from sessions s join deltas d on d.session_id = s.session_id
     where s.created or s.session_id in (select session_id from ended_before)), '[]'::jsonb),
  coalesce((
    select jsonb_agg(jsonb_build_object('sessionId', session_id, 'endedAt', round(extract(epoch from ended_at) * 1000)) order by session_id)
      from (select session_id, max(coalesce(end_time, start_time)) as ended_at
              from inserted where activity_type = 'logout' and success and session_id is not null
             group by session_id) logouts), '[]'::jsonb)${form.selectExtra}
into v_started, v_logged_out${form.intoExtra}`;
}

/** What differs between the two forms a batch comes in: how rows are read, how they are chained, and what more is kept. */
interface BatchForm {
  /** The select that reads the batch: `n` (its order) and every column of COLUMNS. */
  incoming: string;
  /** Columns the rows carry past `scored` besides COLUMNS. */
  carried: readonly string[];
  /** Whether risk scoring computes each of its levels once (riskCtes); the published function did not. */
  fenced: boolean;
  /** The select that chains `scored`: its columns plus position, prev_hash and row_hash. */
  chain: string;
  insertColumns: string;
  insertValues: string;
  selectExtra: string;
  intoExtra: string;
}

/** Events as JSON objects, hashed here (encodings 1 and 2): what activity_tracking_append takes. */
const OBJECT_FORM: BatchForm = {
  incoming: `select e.n, ${SELECT_LIST}
    from jsonb_array_elements(p_rows) with ordinality as e(doc, n), lateral jsonb_to_record(e.doc) as r(${RECORD_DEFINITION})`,
  carried: [],
  fenced: false,
  chain: chainRowsSql('scored', '(select position from start)', '(select hash from start)'),
  insertColumns: '', insertValues: '', selectExtra: '', intoExtra: '',
};

const WRITE_BATCH_SQL = writeBatchSql(OBJECT_FORM);

/**
 * Ends sessions and returns their session_end events (a JSON array for activity_tracking_append).
 * `p_ends` is [{ sessionId, endedAt (epoch ms) }]; sessions already ended are left alone.
 */
const END_SESSIONS_SQL = `
with ended as (
  update activity_sessions s
     set is_active = false,
         end_time = greatest(s.last_activity, to_timestamp(e."endedAt" / 1000.0)),
         duration = extract(epoch from (greatest(s.last_activity, to_timestamp(e."endedAt" / 1000.0)) - s.start_time)) * 1000,
         updated_at = now()
    from jsonb_to_recordset(p_ends) as e("sessionId" text, "endedAt" double precision)
   where s.session_id = e."sessionId" and s.is_active
  returning s.session_id, s.user_id, s.start_time, s.end_time, s.duration, s.page_views, s.actions_count, s.tenant_id
)
select coalesce(jsonb_agg(jsonb_build_object(
         'id', gen_random_uuid(), 'userId', user_id, 'sessionId', session_id, 'activityType', 'session_end', 'action', p_action,
         'startTime', round(extract(epoch from end_time) * 1000), 'success', true, 'tenantId', tenant_id,
         'details', jsonb_build_object('startedAt', start_time, 'durationMs', duration, 'pageViews', page_views, 'actions', actions_count))
       order by session_id), '[]'::jsonb)
  into v_events
  from ended`;

/** The session events a batch leads to: its new sessions' session_start rows, its logouts' session_end rows. */
const SESSION_EVENT_CALLS = `if jsonb_array_length(v_started) > 0 then
    perform activity_tracking_append(v_started, true, p_risk);
  end if;
  if jsonb_array_length(v_logged_out) > 0 then
    perform activity_tracking_end_sessions(v_logged_out, 'session.logout', p_risk);
  end if;`;

/**
 * `select activity_tracking_append(rows)`: the whole write of a batch in one round trip. The lock
 * comes first and the write is a statement of its own, so (the function being volatile) the write
 * sees every batch committed before the lock was granted: chain order is commit order. A session's
 * first activity (or its first after it ended) adds a session_start row, a logout a session_end row:
 * rows of their own, with no method or path, chained after the batch. An import of activity that
 * already happened passes p_session_events = false: its sessions are updated, no events invented.
 * p_risk is the resolved `risk` option (null: rows are not scored); the rows the function adds
 * are scored with it too.
 */
export const APPEND_FUNCTION = [`
create or replace function activity_tracking_end_sessions(p_ends jsonb, p_action text, p_risk jsonb default null) returns void language plpgsql volatile as $end$
declare
  v_events jsonb;
begin
  ${END_SESSIONS_SQL.trim()};
  if jsonb_array_length(v_events) > 0 then
    perform activity_tracking_append(v_events, true, p_risk);
  end if;
end
$end$`, `
create or replace function activity_tracking_append(p_rows jsonb, p_session_events boolean default true, p_risk jsonb default null) returns void language plpgsql volatile as $append$
declare
  v_started jsonb;
  v_logged_out jsonb;
  ${RISK_DECLARATIONS}
begin
  perform pg_advisory_xact_lock(${CHAIN_LOCK_KEY});
  ${WRITE_BATCH_SQL.trim()};
  if not p_session_events then
    return;
  end if;
  ${SESSION_EVENT_CALLS}
end
$append$`];

/** The scored columns' place in a wire row (lib/integrity/encodingV3.ts wireRow): after the content hash. */
const SCORED = scoredColumns().map(({ column }) => column);
/** The content columns' place: after the scored ones. */
const CONTENT = V3_CONTENT_COLUMNS.map(({ column }) => column);

/** One column read from a wire row at `index`: its JSON value as the column's type (JSON null is NULL). */
function wireField(column: string, type: string, index: number): string {
  switch (type) {
    case 'jsonb': return `nullif(e.doc->${index}, 'null') as ${column}`;
    case 'text': return `e.doc->>${index} as ${column}`;
    case 'timestamptz': return `to_timestamp((e.doc->>${index})::double precision / 1000.0) as ${column}`;
    default: return `(e.doc->>${index})::${type} as ${column}`;
  }
}

/** Where each column of COLUMNS is in a wire row. */
const WIRE_INDEX = new Map<string, number>([...SCORED.map((column, i) => [column, 1 + i] as const), ...CONTENT.map((column, i) => [column, 1 + SCORED.length + i] as const)]);
const WIRE_SELECT_LIST = COLUMNS.map(([column, , type]) => {
  const index = WIRE_INDEX.get(column);
  if (index === undefined) throw new Error(`appendFunction: column ${column} has no place in a wire row`);
  return wireField(column, type, index);
}).join(',\n         ');

/** The scored columns of row `r` as the version-3 link's record lists them: float by its bytes (recordEncoding.ts reads them so). */
const SCORED_RECORD = scoredColumns().map(({ column, type }) => (type === 'double precision' ? `encode(float8send(r.${column}), 'hex')` : `r.${column}`)).join(', ');

/**
 * Wire rows hashed by the writer (encoding 3, lib/integrity/encodingV3.ts): each row is a JSON
 * array (content hash, scored columns, content columns), read by index instead of by key; the
 * chain links prev_hash, the writer's content hash and ('v3', position, scored columns).
 */
const ROWS_FORM: BatchForm = {
  incoming: `select e.n, e.doc->>0 as content_hash,
         ${WIRE_SELECT_LIST}
    from jsonb_array_elements(p_rows) with ordinality as e(doc, n)`,
  carried: ['content_hash'],
  fenced: true,
  chain: `select hashed.*, coalesce(lag(hashed.row_hash) over (order by hashed.k), (select hash from start)) as prev_hash
    from (
      select r.*, (select position from start) + r.k as position,
             activity_tracking_chain(r.content_hash || row('v3', (select position from start) + r.k, ${SCORED_RECORD})::text, (select hash from start)) over (order by r.k) as row_hash
        from scored r
    ) hashed`,
  insertColumns: ', hash_version',
  insertValues: ', 3',
  selectExtra: ',\n  (select position from start)',
  intoExtra: ', v_before',
};

/**
 * `select * from activity_tracking_append_rows(rows, session_events, risk)`: a batch of wire rows
 * the writer hashed (lib/integrity/encodingV3.ts), appended as activity_tracking_append appends
 * (same lock, replay check, risk scoring, sessions, summaries and session events), returning the
 * chain positions it took and the last one's hash so a writer with a signing key signs them in the
 * same transaction. No row when nothing new was stored.
 */
export const APPEND_ROWS_FUNCTION = [`
create or replace function activity_tracking_append_rows(p_rows jsonb, p_session_events boolean default true, p_risk jsonb default null)
returns table (first_position bigint, last_position bigint, last_hash text) language plpgsql volatile as $append$
declare
  v_started jsonb;
  v_logged_out jsonb;
  v_before bigint;
  ${RISK_DECLARATIONS}
begin
  perform pg_advisory_xact_lock(${CHAIN_LOCK_KEY});
  ${writeBatchSql(ROWS_FORM).trim()};
  if p_session_events then
    ${SESSION_EVENT_CALLS.replace(/\n/g, '\n  ')}
  end if;
  return query select v_before + 1, u.chain_position, u.row_hash from user_activity u
    where u.chain_position > v_before order by u.chain_position desc limit 1;
end
$append$`];
