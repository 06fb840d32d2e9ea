import type { Knex } from 'knex';
import type { ActivityEvent } from '../types';

/** What the recorder writes through; one call is one atomic write. */
export interface ActivityStore {
  writeBatch(events: readonly ActivityEvent[]): Promise<void>;
}

/** Each column of user_activity a batch carries, the ActivityEvent field it comes from, and its type. */
const COLUMNS: ReadonlyArray<readonly [column: string, field: keyof ActivityEvent, type: string]> = [
  ['id', 'id', 'uuid'], ['user_id', 'userId', 'text'], ['session_id', 'sessionId', 'text'],
  ['activity_type', 'activityType', 'text'], ['entity_type', 'entityType', 'text'], ['entity_id', 'entityId', 'text'],
  ['action', 'action', 'text'], ['details', 'details', 'jsonb'], ['ip_address', 'ipAddress', 'text'],
  ['user_agent', 'userAgent', 'text'], ['browser', 'browser', 'text'], ['operating_system', 'operatingSystem', 'text'],
  ['device_info', 'deviceInfo', 'jsonb'], ['location', 'location', 'jsonb'], ['duration', 'duration', 'double precision'],
  ['start_time', 'startTime', 'epoch_ms'], ['end_time', 'endTime', 'epoch_ms'], ['method', 'method', 'text'],
  ['path', 'path', 'text'], ['route', 'route', 'text'], ['status_code', 'statusCode', 'integer'],
  ['success', 'success', 'boolean'], ['request_size', 'requestSize', 'integer'], ['response_size', 'responseSize', 'integer'],
];
const COLUMN_LIST = COLUMNS.map(([column]) => column).join(', ');
/** The events are serialized as they are (no per-row copy); their camelCase fields are renamed here. */
const RECORD_DEFINITION = COLUMNS.map(([, field, type]) => `"${field}" ${type === 'epoch_ms' ? 'double precision' : type}`).join(', ');
/** Times travel as epoch milliseconds: serializing a Date costs more than the rest of a row. */
const SELECT_LIST = COLUMNS.map(([column, field, type]) => (type === 'epoch_ms' ? `to_timestamp("${field}" / 1000.0) as ${column}` : `"${field}" as ${column}`)).join(', ');

/**
 * One statement per batch, so one round trip and no transaction to open and close: the rows travel
 * as a single JSON parameter (serialized once, natively, instead of thousands of bind values), are
 * inserted unless already stored (a replayed event keeps its id), and only the rows actually
 * inserted update their sessions. Sessions are upserted in session_id order, one lock order for
 * every writer, so concurrent batches cannot deadlock.
 */
const WRITE_BATCH_SQL = `
with incoming as (
  select ${SELECT_LIST} from jsonb_to_recordset(?::jsonb) as r(${RECORD_DEFINITION})
), inserted as (
  insert into user_activity (${COLUMN_LIST})
  select ${COLUMN_LIST} from incoming
  on conflict (id) do nothing
  returning session_id, user_id, activity_type, start_time, end_time, ip_address, user_agent, device_info
), deltas as (
  select session_id,
         (array_agg(user_id order by start_time desc) filter (where user_id is not null))[1] as user_id,
         min(start_time) as start_time,
         max(coalesce(end_time, start_time)) as last_activity,
         count(*) filter (where activity_type = 'page_view') as page_views,
         count(*) filter (where activity_type <> 'page_view') as actions_count,
         (array_agg(ip_address order by start_time))[1] as ip_address,
         (array_agg(user_agent order by start_time))[1] as user_agent,
         (array_agg(device_info order by start_time))[1] as device_info
    from inserted
   where session_id is not null and activity_type not in ('session_start', 'session_end')
   group by session_id
)
insert into activity_sessions (session_id, user_id, start_time, last_activity, duration, page_views, actions_count, ip_address, user_agent, device_info)
select session_id, user_id, start_time, last_activity, extract(epoch from (last_activity - start_time)) * 1000,
       page_views, actions_count, ip_address, user_agent, device_info
  from deltas
 order by session_id
on conflict (session_id) do update set
  user_id = coalesce(excluded.user_id, activity_sessions.user_id),
  start_time = least(activity_sessions.start_time, excluded.start_time),
  last_activity = greatest(activity_sessions.last_activity, excluded.last_activity),
  duration = extract(epoch from (greatest(activity_sessions.last_activity, excluded.last_activity) - least(activity_sessions.start_time, excluded.start_time))) * 1000,
  page_views = activity_sessions.page_views + excluded.page_views,
  actions_count = activity_sessions.actions_count + excluded.actions_count,
  updated_at = now()`;

export class KnexActivityStore implements ActivityStore {
  constructor(private readonly knex: Knex) {}

  async writeBatch(events: readonly ActivityEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.knex.raw(WRITE_BATCH_SQL, [JSON.stringify(events)]);
  }
}
