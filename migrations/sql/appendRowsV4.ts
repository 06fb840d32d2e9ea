/**
 * The SQL migration 20261202000000_writer_hashes installs, frozen. Later changes ship as new migrations; once that
 * migration is published this file never changes.
 */

/** The append function for rows the writer hashed, encoding 3 (migrations/sql/generator/appendFunction.ts). */
export const APPEND_ROWS_FUNCTION_V4: readonly string[] = [
`
create or replace function activity_tracking_append_rows(p_rows jsonb, p_session_events boolean default true, p_risk jsonb default null)
returns table (first_position bigint, last_position bigint, last_hash text) language plpgsql volatile as $append$
declare
  v_started jsonb;
  v_logged_out jsonb;
  v_before bigint;
  v_weight_failed_authentication numeric := (p_risk->'weights'->>'failed_authentication')::numeric;
  v_weight_authorization_failure numeric := (p_risk->'weights'->>'authorization_failure')::numeric;
  v_weight_privileged_action numeric := (p_risk->'weights'->>'privileged_action')::numeric;
  v_weight_export_or_bulk_read numeric := (p_risk->'weights'->>'export_or_bulk_read')::numeric;
  v_weight_new_device numeric := (p_risk->'weights'->>'new_device')::numeric;
  v_weight_new_country numeric := (p_risk->'weights'->>'new_country')::numeric;
  v_weight_outside_working_hours numeric := (p_risk->'weights'->>'outside_working_hours')::numeric;
  v_weight_burst_rate numeric := (p_risk->'weights'->>'burst_rate')::numeric;
  v_low numeric := (p_risk->'severityThresholds'->>'low')::numeric;
  v_medium numeric := (p_risk->'severityThresholds'->>'medium')::numeric;
  v_high numeric := (p_risk->'severityThresholds'->>'high')::numeric;
  v_critical numeric := (p_risk->'severityThresholds'->>'critical')::numeric;
  v_anomaly numeric := (p_risk->>'anomalyThreshold')::numeric;
  v_burst_window interval := make_interval(secs => coalesce((p_risk->>'burstWindowSeconds')::double precision, 0));
  v_burst_threshold integer := (p_risk->>'burstThreshold')::integer;
  v_bulk_read_bytes bigint := (p_risk->>'bulkReadBytes')::bigint;
  v_privileged_roles text[] := array(select jsonb_array_elements_text(p_risk->'privilegedRoles'));
  v_time_zone text := p_risk->'workingHours'->>'timeZone';
  v_work_start integer := (p_risk->'workingHours'->>'start')::integer;
  v_work_end integer := (p_risk->'workingHours'->>'end')::integer;
  v_work_days integer[] := array(select jsonb_array_elements_text(p_risk->'workingHours'->'days')::integer);
begin
  perform pg_advisory_xact_lock(7318245501);
  with incoming as (
  select e.n, e.doc->>0 as content_hash,
         (e.doc->>5)::uuid as id,
         e.doc->>6 as user_id,
         e.doc->>7 as session_id,
         e.doc->>8 as activity_type,
         e.doc->>9 as entity_type,
         e.doc->>10 as entity_id,
         e.doc->>11 as action,
         nullif(e.doc->12, 'null') as details,
         e.doc->>13 as ip_address,
         e.doc->>14 as user_agent,
         e.doc->>15 as browser,
         e.doc->>16 as operating_system,
         nullif(e.doc->17, 'null') as device_info,
         nullif(e.doc->18, 'null') as location,
         (e.doc->>19)::double precision as duration,
         to_timestamp((e.doc->>20)::double precision / 1000.0) as start_time,
         to_timestamp((e.doc->>21)::double precision / 1000.0) as end_time,
         e.doc->>22 as method,
         e.doc->>23 as path,
         e.doc->>24 as route,
         (e.doc->>25)::integer as status_code,
         (e.doc->>26)::boolean as success,
         (e.doc->>27)::integer as request_size,
         (e.doc->>28)::integer as response_size,
         e.doc->>29 as actor_type,
         e.doc->>30 as actor_role,
         e.doc->>31 as actor_name,
         e.doc->>32 as category,
         e.doc->>1 as severity,
         e.doc->>33 as entity_name,
         e.doc->>34 as tenant_id,
         e.doc->>35 as owner_id,
         e.doc->>36 as status,
         e.doc->>37 as reason,
         nullif(e.doc->38, 'null') as changes,
         (e.doc->>39)::boolean as personal_data,
         (e.doc->>2)::double precision as risk_score,
         nullif(e.doc->3, 'null') as risk_factors,
         (e.doc->>4)::boolean as anomaly
    from jsonb_array_elements(p_rows) with ordinality as e(doc, n)
), fresh as (
  select i.*, row_number() over (order by i.n) as k
    from incoming i
   where not exists (select 1 from user_activity u where u.id = i.id)
), traits as (
  select distinct on (f.user_id, t.trait, t.value) f.k, f.user_id, t.trait, t.value, f.start_time
    from fresh f
    cross join lateral (values ('device', case when f.browser is not null or f.operating_system is not null then jsonb_build_array(f.browser, f.operating_system)::text end), ('country', f.location->>'country')) as t(trait, value)
   where f.user_id is not null and t.value is not null
   order by f.user_id, t.trait, t.value, f.k
), learned as (
  insert into activity_risk_baseline (user_id, trait, value, first_seen)
  select user_id, trait, value, start_time from traits order by user_id, trait, value
  on conflict do nothing
  returning user_id, trait, value
), burst_users as (
  select user_id, min(start_time) - v_burst_window as since, max(start_time) as until
    from fresh
   where user_id is not null and p_risk is not null
   group by user_id
), burst_stored as (
  select bu.user_id, s.start_time
    from burst_users bu
    cross join lateral (
      select u.start_time from user_activity u
       where u.user_id = bu.user_id and u.start_time >= bu.since and u.start_time <= bu.until
       order by u.start_time desc
       limit v_burst_threshold + 1
    ) s
), burst as (
  -- Every row of the batch (k), with how many rows of its user are in the window up to it.
  select k, in_window from (
    select k, count(*) over (partition by user_id order by start_time range between v_burst_window preceding and current row) as in_window
      from (select user_id, start_time, k from fresh where p_risk is not null
            union all
            select user_id, start_time, null from burst_stored) timeline
  ) counted
   where k is not null
), lookups as (
  select (select array_agg(in_window order by k) from burst) as in_window,
         (select jsonb_object_agg(jsonb_build_array(user_id, trait, value)::text, true) from learned) as learned
), scored as (
  select s.n, s.k, s.id, s.user_id, s.session_id, s.activity_type, s.entity_type, s.entity_id, s.action, s.details, s.ip_address, s.user_agent, s.browser, s.operating_system, s.device_info, s.location, s.duration, s.start_time, s.end_time, s.method, s.path, s.route, s.status_code, s.success, s.request_size, s.response_size, s.actor_type, s.actor_role, s.actor_name, s.category, case when p_risk is null then s.severity else case when array_position(array['info', 'low', 'medium', 'high', 'critical'], s.severity) > array_position(array['info', 'low', 'medium', 'high', 'critical'], s.derived) then s.severity else s.derived end end as severity, s.entity_name, s.tenant_id, s.owner_id, s.status, s.reason, s.changes, s.personal_data, case when p_risk is null then s.risk_score else least(1, s.score)::double precision end as risk_score, case when p_risk is null then s.risk_factors else s.factor_names end as risk_factors, case when p_risk is null then s.anomaly else least(1, s.score) >= v_anomaly end as anomaly, s.content_hash
    from (
      select s0.*, case when least(1, s0.score) >= v_critical then 'critical' when least(1, s0.score) >= v_high then 'high'
                        when least(1, s0.score) >= v_medium then 'medium' when least(1, s0.score) >= v_low then 'low' else 'info' end as derived
        from (
          select g.*, to_jsonb(array_remove(array[case when failed_authentication then 'failed_authentication' end, case when authorization_failure then 'authorization_failure' end, case when privileged_action then 'privileged_action' end, case when export_or_bulk_read then 'export_or_bulk_read' end, case when new_device then 'new_device' end, case when new_country then 'new_country' end, case when outside_working_hours then 'outside_working_hours' end, case when burst_rate then 'burst_rate' end], null)) as factor_names,
                 case when failed_authentication then v_weight_failed_authentication else 0 end
                   + case when authorization_failure then v_weight_authorization_failure else 0 end
                   + case when privileged_action then v_weight_privileged_action else 0 end
                   + case when export_or_bulk_read then v_weight_export_or_bulk_read else 0 end
                   + case when new_device then v_weight_new_device else 0 end
                   + case when new_country then v_weight_new_country else 0 end
                   + case when outside_working_hours then v_weight_outside_working_hours else 0 end
                   + case when burst_rate then v_weight_burst_rate else 0 end as score
            from (
              select f.*,
                     coalesce(f.activity_type = 'login_failed' or f.status_code = 401
            or (f.status = 'failure' and (f.activity_type in ('login', 'token_refresh') or f.category = 'authentication')), false) as failed_authentication,
                     coalesce(f.activity_type = 'authz_fail' or f.status_code = 403, false) as authorization_failure,
                     coalesce(f.actor_type = 'admin' or f.actor_role = any(v_privileged_roles) or f.activity_type = 'data_delete', false) as privileged_action,
                     coalesce(f.activity_type in ('audit_export', 'file_download') or f.response_size > v_bulk_read_bytes, false) as export_or_bulk_read,
                     coalesce(f.is_new_device, false) as new_device,
                     coalesce(f.is_new_country, false) as new_country,
                     coalesce(v_time_zone is not null and (extract(isodow from f.start_time at time zone v_time_zone)::integer <> all(v_work_days)
            or extract(hour from f.start_time at time zone v_time_zone) < v_work_start
            or extract(hour from f.start_time at time zone v_time_zone) >= v_work_end), false) as outside_working_hours,
                     coalesce(f.burst_count > v_burst_threshold, false) as burst_rate
                from (
                  select f.*,
                         f.k = min(f.k) over (partition by f.user_id, case when f.browser is not null or f.operating_system is not null then jsonb_build_array(f.browser, f.operating_system)::text end)
                           and (l.learned -> jsonb_build_array(f.user_id, 'device', case when f.browser is not null or f.operating_system is not null then jsonb_build_array(f.browser, f.operating_system)::text end)::text) is not null as is_new_device,
                         f.k = min(f.k) over (partition by f.user_id, f.location->>'country')
                           and (l.learned -> jsonb_build_array(f.user_id, 'country', f.location->>'country')::text) is not null as is_new_country,
                         case when f.user_id is not null then l.in_window[f.k::integer] end as burst_count
                    from fresh f cross join lookups l
                ) f offset 0
            ) g offset 0
        ) s0 offset 0
    ) s
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
             activity_tracking_chain(r.content_hash || row('v3', (select position from start) + r.k, r.severity, encode(float8send(r.risk_score), 'hex'), r.risk_factors, r.anomaly)::text, (select hash from start)) over (order by r.k) as row_hash
        from scored r
    ) hashed
), inserted as (
  insert into user_activity (id, user_id, session_id, activity_type, entity_type, entity_id, action, details, ip_address, user_agent, browser, operating_system, device_info, location, duration, start_time, end_time, method, path, route, status_code, success, request_size, response_size, actor_type, actor_role, actor_name, category, severity, entity_name, tenant_id, owner_id, status, reason, changes, personal_data, risk_score, risk_factors, anomaly, chain_position, prev_hash, row_hash, hash_version)
  select c.id, c.user_id, c.session_id, c.activity_type, c.entity_type, c.entity_id, c.action, c.details, c.ip_address, c.user_agent, c.browser, c.operating_system, c.device_info, c.location, c.duration, c.start_time, c.end_time, c.method, c.path, c.route, c.status_code, c.success, c.request_size, c.response_size, c.actor_type, c.actor_role, c.actor_name, c.category, c.severity, c.entity_name, c.tenant_id, c.owner_id, c.status, c.reason, c.changes, c.personal_data, c.risk_score, c.risk_factors, c.anomaly, c.position, c.prev_hash, c.row_hash, 3
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
             group by session_id) logouts), '[]'::jsonb),
  (select position from start)
into v_started, v_logged_out, v_before;
  if p_session_events then
    if jsonb_array_length(v_started) > 0 then
      perform activity_tracking_append(v_started, true, p_risk);
    end if;
    if jsonb_array_length(v_logged_out) > 0 then
      perform activity_tracking_end_sessions(v_logged_out, 'session.logout', p_risk);
    end if;
  end if;
  return query select v_before + 1, u.chain_position, u.row_hash from user_activity u
    where u.chain_position > v_before order by u.chain_position desc limit 1;
end
$append$`,
];
