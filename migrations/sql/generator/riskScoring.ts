import { RISK_FACTORS, SEVERITIES, type RiskFactor } from '../../../lib/types';
import { scoredColumns } from '../../../lib/store/columns';

/**
 * Risk scoring inside the append function: each batch's rows are scored as they are written, after
 * they are known to be new and before they are chained, so the score, factors, severity and anomaly
 * flag are on the hash chain and the same whichever process wrote the batch. `p_risk` is the
 * resolved `risk` option as JSON (lib/risk/options.ts ResolvedRisk); null scores nothing and keeps what
 * the rows carry. Only migrations use this, through frozen copies (`npm run sql:freeze`).
 */

/** The table of each user's known devices and countries: what "new for this user" is measured against. */
export const RISK_BASELINE_TABLE = 'activity_risk_baseline';

/** A device is its browser and operating system, as one text (either may be unknown, not both). */
const DEVICE_KEY = (row: string): string =>
  `case when ${row}.browser is not null or ${row}.operating_system is not null then jsonb_build_array(${row}.browser, ${row}.operating_system)::text end`;
const COUNTRY_KEY = (row: string): string => `${row}.location->>'country'`;

/** PL/pgSQL declarations: the options read once per batch; all null when p_risk is. */
export const RISK_DECLARATIONS = [
  ...RISK_FACTORS.map((factor) => `v_weight_${factor} numeric := (p_risk->'weights'->>'${factor}')::numeric;`),
  ...['low', 'medium', 'high', 'critical'].map((severity) => `v_${severity} numeric := (p_risk->'severityThresholds'->>'${severity}')::numeric;`),
  `v_anomaly numeric := (p_risk->>'anomalyThreshold')::numeric;`,
  `v_burst_window interval := make_interval(secs => coalesce((p_risk->>'burstWindowSeconds')::double precision, 0));`,
  `v_burst_threshold integer := (p_risk->>'burstThreshold')::integer;`,
  `v_bulk_read_bytes bigint := (p_risk->>'bulkReadBytes')::bigint;`,
  `v_privileged_roles text[] := array(select jsonb_array_elements_text(p_risk->'privilegedRoles'));`,
  // workingHours false: no time zone, so no row is outside working hours.
  `v_time_zone text := p_risk->'workingHours'->>'timeZone';`,
  `v_work_start integer := (p_risk->'workingHours'->>'start')::integer;`,
  `v_work_end integer := (p_risk->'workingHours'->>'end')::integer;`,
  `v_work_days integer[] := array(select jsonb_array_elements_text(p_risk->'workingHours'->'days')::integer);`,
].join('\n  ');

/** When each factor is present, as the lines of one condition; `f` is the batch row with its novelty and its burst count. */
const FACTOR_CONDITIONS: Record<RiskFactor, readonly string[]> = {
  // 401 is HTTP's "not authenticated"; a failed login answered 401 is one failure, not two.
  failed_authentication: [
    `f.activity_type = 'login_failed' or f.status_code = 401`,
    `or (f.status = 'failure' and (f.activity_type in ('login', 'token_refresh') or f.category = 'authentication'))`,
  ],
  authorization_failure: [`f.activity_type = 'authz_fail' or f.status_code = 403`],
  privileged_action: [`f.actor_type = 'admin' or f.actor_role = any(v_privileged_roles) or f.activity_type = 'data_delete'`],
  export_or_bulk_read: [`f.activity_type in ('audit_export', 'file_download') or f.response_size > v_bulk_read_bytes`],
  new_device: [`f.is_new_device`],
  new_country: [`f.is_new_country`],
  // (<> all of an empty array is true, even for null: the time zone must be checked first.)
  outside_working_hours: [
    `v_time_zone is not null and (extract(isodow from f.start_time at time zone v_time_zone)::integer <> all(v_work_days)`,
    `or extract(hour from f.start_time at time zone v_time_zone) < v_work_start`,
    `or extract(hour from f.start_time at time zone v_time_zone) >= v_work_end)`,
  ],
  burst_rate: [`f.burst_count > v_burst_threshold`],
};
/** Where a condition's continuation lines start in the statement. */
const CONDITION_BREAK = `\n${' '.repeat(12)}`;

const SEVERITY_RANKS = `array[${SEVERITIES.map((s) => `'${s}'`).join(', ')}]`;

/**
 * Common table expressions that follow `fresh` (the batch's new rows, numbered `k` from 1) and end in
 * `scored`: the same rows with their risk columns (and severity) filled in.
 *
 * - Known devices and countries: each user's first row of the batch with a device (country) not in
 *   activity_risk_baseline is new, and the baseline learns it; one insert per batch, one index
 *   probe per distinct user and device (country), whatever the user's history. The baseline
 *   learns from every batch, scored or not, so turning scoring on later does not make every
 *   device new.
 * - Burst: the rows of each user of the batch within the window before each row, counted over the
 *   batch and the user's stored rows; one index range read per user, of at most burstThreshold + 1
 *   rows (the newest before the batch's last row), which is all that "more than the threshold" needs
 *   when the batch's rows are the user's newest.
 *
 * The rows are never joined back to what was worked out about them: the planner cannot size a CTE
 * built from JSON and joins it row by row (a batch of 500 took minutes). What is learned is looked
 * up instead: the burst counts in an array indexed by k, the new traits in a JSON object, each
 * built once per batch.
 */
export function riskCtes(columns: readonly string[], overridden: ReadonlySet<string>, fenced = false): string {
  // Without a fence the planner folds the levels into one projection and copies each factor's
  // condition and the score's sum into every place that reads them: about 70 µs a row.
  const fence = fenced ? ' offset 0' : '';
  const present = RISK_FACTORS.map((factor) => `coalesce(${FACTOR_CONDITIONS[factor].join(CONDITION_BREAK)}, false) as ${factor}`).join(',\n                     ');
  const names = RISK_FACTORS.map((factor) => `case when ${factor} then '${factor}' end`).join(', ');
  const sum = RISK_FACTORS.map((factor) => `case when ${factor} then v_weight_${factor} else 0 end`).join('\n                   + ');
  const outputs: Record<string, string> = {
    risk_score: 'least(1, s.score)::double precision',
    risk_factors: 's.factor_names',
    anomaly: 'least(1, s.score) >= v_anomaly',
    severity: `case when array_position(${SEVERITY_RANKS}, s.severity) > array_position(${SEVERITY_RANKS}, s.derived) then s.severity else s.derived end`,
  };
  const select = columns.map((column) => (overridden.has(column)
    ? `case when p_risk is null then s.${column} else ${outputs[column] ?? `s.${column}`} end as ${column}`
    : `s.${column}`)).join(', ');
  return `traits as (
  select distinct on (f.user_id, t.trait, t.value) f.k, f.user_id, t.trait, t.value, f.start_time
    from fresh f
    cross join lateral (values ('device', ${DEVICE_KEY('f')}), ('country', ${COUNTRY_KEY('f')})) as t(trait, value)
   where f.user_id is not null and t.value is not null
   order by f.user_id, t.trait, t.value, f.k
), learned as (
  insert into ${RISK_BASELINE_TABLE} (user_id, trait, value, first_seen)
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
  select s.n, s.k, ${select}
    from (
      select s0.*, case when least(1, s0.score) >= v_critical then 'critical' when least(1, s0.score) >= v_high then 'high'
                        when least(1, s0.score) >= v_medium then 'medium' when least(1, s0.score) >= v_low then 'low' else 'info' end as derived
        from (
          select g.*, to_jsonb(array_remove(array[${names}], null)) as factor_names,
                 ${sum} as score
            from (
              select f.*,
                     ${present}
                from (
                  select f.*,
                         f.k = min(f.k) over (partition by f.user_id, ${DEVICE_KEY('f')})
                           and (l.learned -> jsonb_build_array(f.user_id, 'device', ${DEVICE_KEY('f')})::text) is not null as is_new_device,
                         f.k = min(f.k) over (partition by f.user_id, ${COUNTRY_KEY('f')})
                           and (l.learned -> jsonb_build_array(f.user_id, 'country', ${COUNTRY_KEY('f')})::text) is not null as is_new_country,
                         case when f.user_id is not null then l.in_window[f.k::integer] end as burst_count
                    from fresh f cross join lookups l
                ) f${fence}
            ) g${fence}
        ) s0${fence}
    ) s
)`;
}

/** The columns `riskCtes` fills in. */
export const RISK_COLUMNS: ReadonlySet<string> = new Set(scoredColumns().map(({ column }) => column));
