/**
 * The SQL migration 20261126000000_domain_events installs, frozen as it was published: version 2
 * of the chain's hash functions and the append function that writes the domain-event, tenant and
 * risk columns. Later changes ship as new migrations; this file never changes.
 */
export const HASH_FUNCTIONS_V2: readonly string[] = [
`
create or replace function activity_tracking_content_hash(p_position bigint, p_id uuid, p_user_id text, p_session_id text, p_activity_type text,
  p_entity_type text, p_entity_id text, p_action text, p_details jsonb, p_ip_address text, p_user_agent text,
  p_browser text, p_operating_system text, p_device_info jsonb, p_location jsonb, p_duration double precision,
  p_start_time timestamptz, p_end_time timestamptz, p_method text, p_path text, p_route text, p_status_code integer,
  p_success boolean, p_request_size integer, p_response_size integer, p_actor_type text, p_actor_role text, p_actor_name text, p_category text, p_severity text, p_entity_name text, p_tenant_id text, p_owner_id text, p_status text, p_reason text, p_changes jsonb, p_personal_data boolean, p_risk_score double precision, p_risk_factors jsonb, p_anomaly boolean) returns text language sql immutable parallel safe as $fn$
  select case when num_nonnulls(p_actor_type, p_actor_role, p_actor_name, p_category, p_severity, p_entity_name, p_tenant_id, p_owner_id, p_status, p_reason, p_changes, p_personal_data, p_risk_score, p_risk_factors, p_anomaly) = 0
    then activity_tracking_content_hash(p_position, p_id, p_user_id, p_session_id, p_activity_type,
  p_entity_type, p_entity_id, p_action, p_details, p_ip_address, p_user_agent,
  p_browser, p_operating_system, p_device_info, p_location, p_duration,
  p_start_time, p_end_time, p_method, p_path, p_route, p_status_code,
  p_success, p_request_size, p_response_size)
    else encode(sha256(convert_to(row(
    'v1', p_position, p_id, p_user_id, p_session_id, p_activity_type, p_entity_type, p_entity_id, p_action,
    p_details, p_ip_address, p_user_agent, p_browser, p_operating_system, p_device_info, p_location, encode(float8send(p_duration), 'hex'),
    round(extract(epoch from p_start_time) * 1000), round(extract(epoch from p_end_time) * 1000),
    p_method, p_path, p_route, p_status_code, p_success, p_request_size, p_response_size
  )::text || row('v2', p_actor_type, p_actor_role, p_actor_name, p_category, p_severity, p_entity_name, p_tenant_id, p_owner_id, p_status, p_reason, p_changes, p_personal_data, encode(float8send(p_risk_score), 'hex'), p_risk_factors, p_anomaly)::text, 'UTF8')), 'hex')
  end
$fn$`,
`
create or replace function activity_tracking_row_hash(p_position bigint, p_prev_hash text, p_id uuid, p_user_id text, p_session_id text, p_activity_type text,
  p_entity_type text, p_entity_id text, p_action text, p_details jsonb, p_ip_address text, p_user_agent text,
  p_browser text, p_operating_system text, p_device_info jsonb, p_location jsonb, p_duration double precision,
  p_start_time timestamptz, p_end_time timestamptz, p_method text, p_path text, p_route text, p_status_code integer,
  p_success boolean, p_request_size integer, p_response_size integer, p_actor_type text, p_actor_role text, p_actor_name text, p_category text, p_severity text, p_entity_name text, p_tenant_id text, p_owner_id text, p_status text, p_reason text, p_changes jsonb, p_personal_data boolean, p_risk_score double precision, p_risk_factors jsonb, p_anomaly boolean)
returns text language sql immutable parallel safe as $fn$
  select activity_tracking_link(p_prev_hash, activity_tracking_content_hash(p_position, p_id, p_user_id, p_session_id, p_activity_type,
  p_entity_type, p_entity_id, p_action, p_details, p_ip_address, p_user_agent,
  p_browser, p_operating_system, p_device_info, p_location, p_duration,
  p_start_time, p_end_time, p_method, p_path, p_route, p_status_code,
  p_success, p_request_size, p_response_size, p_actor_type, p_actor_role, p_actor_name, p_category, p_severity, p_entity_name, p_tenant_id, p_owner_id, p_status, p_reason, p_changes, p_personal_data, p_risk_score, p_risk_factors, p_anomaly))
$fn$`,
];

export const APPEND_FUNCTION_V2: readonly string[] = [
`
create or replace function activity_tracking_end_sessions(p_ends jsonb, p_action text) returns void language plpgsql volatile as $end$
declare
  v_events jsonb;
begin
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
  from ended;
  if jsonb_array_length(v_events) > 0 then
    perform activity_tracking_append(v_events);
  end if;
end
$end$`,
`
create or replace function activity_tracking_append(p_rows jsonb, p_session_events boolean default true) returns void language plpgsql volatile as $append$
declare
  v_started jsonb;
  v_logged_out jsonb;
begin
  perform pg_advisory_xact_lock(7318245501);
  with incoming as (
  select e.n, "id" as id, "userId" as user_id, "sessionId" as session_id, "activityType" as activity_type, "entityType" as entity_type, "entityId" as entity_id, "action" as action, "details" as details, "ipAddress" as ip_address, "userAgent" as user_agent, "browser" as browser, "operatingSystem" as operating_system, "deviceInfo" as device_info, "location" as location, "duration" as duration, to_timestamp("startTime" / 1000.0) as start_time, to_timestamp("endTime" / 1000.0) as end_time, "method" as method, "path" as path, "route" as route, "statusCode" as status_code, "success" as success, "requestSize" as request_size, "responseSize" as response_size, "actorType" as actor_type, "actorRole" as actor_role, "actorName" as actor_name, "category" as category, "severity" as severity, "entityName" as entity_name, "tenantId" as tenant_id, "ownerId" as owner_id, "status" as status, "reason" as reason, "changes" as changes, "personalData" as personal_data, "riskScore" as risk_score, "riskFactors" as risk_factors, "anomaly" as anomaly
    from jsonb_array_elements(p_rows) with ordinality as e(doc, n), lateral jsonb_to_record(e.doc) as r("id" uuid, "userId" text, "sessionId" text, "activityType" text, "entityType" text, "entityId" text, "action" text, "details" jsonb, "ipAddress" text, "userAgent" text, "browser" text, "operatingSystem" text, "deviceInfo" jsonb, "location" jsonb, "duration" double precision, "startTime" double precision, "endTime" double precision, "method" text, "path" text, "route" text, "statusCode" integer, "success" boolean, "requestSize" integer, "responseSize" integer, "actorType" text, "actorRole" text, "actorName" text, "category" text, "severity" text, "entityName" text, "tenantId" text, "ownerId" text, "status" text, "reason" text, "changes" jsonb, "personalData" boolean, "riskScore" double precision, "riskFactors" jsonb, "anomaly" boolean)
), fresh as (
  select i.*, row_number() over (order by i.n) as k
    from incoming i
   where not exists (select 1 from user_activity u where u.id = i.id)
), head as (
  -- The newest row; or, should retention ever have removed every row, the end of the last run.
  select chain_position, row_hash from (
    (select chain_position, row_hash, 1 as preference from user_activity order by chain_position desc limit 1)
    union all
    (select to_position, last_removed_hash, 2 from activity_retention order by to_position desc limit 1)
  ) candidates order by preference limit 1
), start as (
  select coalesce((select chain_position from head), 0) as position,
         coalesce((select row_hash from head), '0000000000000000000000000000000000000000000000000000000000000000') as hash
), chain as (
  select hashed.*, coalesce(lag(hashed.row_hash) over (order by hashed.k), (select hash from start)) as prev_hash
    from (
      select r.*, (select position from start) + r.k as position,
             activity_tracking_chain(activity_tracking_content_hash((select position from start) + r.k, r.id, r.user_id, r.session_id, r.activity_type, r.entity_type, r.entity_id, r.action,
  r.details, r.ip_address, r.user_agent, r.browser, r.operating_system, r.device_info, r.location, r.duration, r.start_time, r.end_time,
  r.method, r.path, r.route, r.status_code, r.success, r.request_size, r.response_size,
  r.actor_type, r.actor_role, r.actor_name, r.category, r.severity, r.entity_name, r.tenant_id, r.owner_id, r.status, r.reason, r.changes, r.personal_data, r.risk_score, r.risk_factors, r.anomaly), (select hash from start)) over (order by r.k) as row_hash
        from fresh r
    ) hashed
), inserted as (
  insert into user_activity (id, user_id, session_id, activity_type, entity_type, entity_id, action, details, ip_address, user_agent, browser, operating_system, device_info, location, duration, start_time, end_time, method, path, route, status_code, success, request_size, response_size, actor_type, actor_role, actor_name, category, severity, entity_name, tenant_id, owner_id, status, reason, changes, personal_data, risk_score, risk_factors, anomaly, chain_position, prev_hash, row_hash)
  select c.id, c.user_id, c.session_id, c.activity_type, c.entity_type, c.entity_id, c.action, c.details, c.ip_address, c.user_agent, c.browser, c.operating_system, c.device_info, c.location, c.duration, c.start_time, c.end_time, c.method, c.path, c.route, c.status_code, c.success, c.request_size, c.response_size, c.actor_type, c.actor_role, c.actor_name, c.category, c.severity, c.entity_name, c.tenant_id, c.owner_id, c.status, c.reason, c.changes, c.personal_data, c.risk_score, c.risk_factors, c.anomaly, c.position, c.prev_hash, c.row_hash
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
             group by session_id) logouts), '[]'::jsonb)
into v_started, v_logged_out;
  if not p_session_events then
    return;
  end if;
  if jsonb_array_length(v_started) > 0 then
    perform activity_tracking_append(v_started);
  end if;
  if jsonb_array_length(v_logged_out) > 0 then
    perform activity_tracking_end_sessions(v_logged_out, 'session.logout');
  end if;
end
$append$`,
];
