import type { Knex } from 'knex';
import { asDate, type WindowCount, type WindowCountQuery } from './windowCounts';

/** Spans looked at per key and window of the epoch-aligned grid (bounds the work under attack). */
export const SPANS_PER_WINDOW = 20;
/** Spans measured per statement. */
const SPANS_PER_STATEMENT = 200;

export interface SlidingCountQuery extends WindowCountQuery {
  /** The rule, whose stored alerts mark the rows already alerted on. */
  rule: string;
  /** A row count `having` implies: spans with fewer rows are never measured. */
  minRows: number;
  /** `having` is `count(*) >= minRows` and nothing else: a span with enough rows meets it. */
  countOnly: boolean;
}

interface Span {
  key: string;
  start: Date;
  end: Date;
}

/**
 * Counts over sliding spans of `windowMinutes`: for each row of a key (a span's last row), the rows
 * of that key in the window before it, so a burst across the edge of a fixed window is one burst.
 * Returns the earliest span of each key that meets `having`; its window starts at its first row.
 * Rows before the end of the newest stored alert of `rule` for the key are left out, so a new alert
 * needs rows of its own, after the last alert's window.
 *
 * In two steps that stay cheap under attack: a window function finds each row's span and its row
 * count (at most SPANS_PER_WINDOW candidates per key and grid window); then only the spans chosen
 * (or, when `having` counts more than rows, the candidates) are measured with `measures` and
 * `having`, each on the start_time index.
 */
export async function countSliding(knex: Knex, query: SlidingCountQuery): Promise<WindowCount[]> {
  const windowMs = query.windowMinutes * 60_000;
  const candidates = await candidateSpans(knex, query, windowMs);
  if (query.countOnly) return measure(knex, query, windowMs, chooseSpans(candidates));
  return chooseSpans(await measure(knex, query, windowMs, candidates));
}

/**
 * Keeps the earliest span of each key. The key's next span must start after this one's window, and
 * which span that is depends on the rows this one covers; the next run finds it exactly, from the
 * stored alert. So a run adds at most one alert per rule and key, and a backlog (rows stored in bulk,
 * after an outage) is worked through one window per run, without a gap.
 */
function chooseSpans<T extends { key: string }>(spans: readonly T[]): T[] {
  const seen = new Set<string>();
  return spans.filter((span) => !seen.has(span.key) && seen.add(span.key));
}

async function candidateSpans(knex: Knex, query: SlidingCountQuery, windowMs: number): Promise<Span[]> {
  // The span of a row: the rows of its key from windowMs before it (exclusive) to it (inclusive);
  // timestamps are kept to the millisecond.
  const frame = `${windowMs - 1} milliseconds`;
  const result = (await knex.raw(`
with matched as (
  select u.id, u.start_time, (${query.key}) as alert_key from user_activity u
  where u.start_time > ? and u.start_time <= ? and (${query.where}) and (${query.key}) is not null
),
fresh as (
  select m.* from matched m
  where m.start_time >= coalesce((select max(a.window_end) from activity_alerts a where a.rule = ? and a.alert_key = m.alert_key), '-infinity'::timestamptz)
),
counted as (
  select alert_key, id, start_time, count(*) over span as in_span, first_value(start_time) over span as span_start
  from fresh
  window span as (partition by alert_key order by start_time range between ?::interval preceding and current row)
),
ranked as (
  select counted.*, row_number() over (partition by alert_key, floor(extract(epoch from start_time) * 1000 / ?) order by start_time, id) as nth
  from counted
  where start_time >= ? and in_span >= ?
)
select alert_key, span_start, start_time as end_time from ranked where nth <= ? order by alert_key, start_time, id`, [
    new Date(query.from.getTime() - windowMs), query.until, ...(query.whereBindings ?? []), query.rule,
    frame, windowMs, query.from, query.minRows, SPANS_PER_WINDOW,
  ])) as { rows: Array<Record<string, unknown>> };
  return result.rows.map((row) => ({ key: String(row['alert_key']), start: asDate(row['span_start']), end: asDate(row['end_time']) }));
}

/** Counts and measures each span's rows; returns those that meet `having`, in the order given. */
async function measure(knex: Knex, query: SlidingCountQuery, windowMs: number, spans: readonly Span[]): Promise<WindowCount[]> {
  const measured: WindowCount[] = [];
  for (let i = 0; i < spans.length; i += SPANS_PER_STATEMENT) {
    const chunk = spans.slice(i, i + SPANS_PER_STATEMENT);
    const result = (await knex.raw(`
select s.n, count(*) as matched, min(start_time) as first_seen, max(start_time) as last_seen,
  case when count(tenant_id) = count(*) and count(distinct tenant_id) = 1 then min(tenant_id) end as tenant_id
  ${query.measures ? `, ${query.measures}` : ''}
from (values ${chunk.map(() => '(?::int, ?::text, ?::timestamptz, ?::timestamptz)').join(', ')}) as s(n, span_key, span_start, span_end)
join user_activity on start_time >= s.span_start and start_time <= s.span_end and (${query.key}) = s.span_key and (${query.where})
group by s.n
having ${query.having}
order by s.n`, [
      ...(query.measureBindings ?? []), ...chunk.flatMap((span, n) => [n, span.key, span.start, span.end]),
      ...(query.whereBindings ?? []), ...(query.havingBindings ?? []),
    ])) as { rows: Array<Record<string, unknown>> };
    for (const row of result.rows) {
      const { n, matched, first_seen: firstSeen, last_seen: lastSeen, tenant_id: tenantId, ...measures } = row;
      const span = chunk[Number(n)] as Span;
      measured.push({
        key: span.key, windowStart: span.start, windowEnd: new Date(span.start.getTime() + windowMs),
        count: Number(matched), firstSeen: asDate(firstSeen), lastSeen: asDate(lastSeen),
        tenantId: tenantId === null || tenantId === undefined ? null : String(tenantId), measures,
      });
    }
  }
  return measured;
}
