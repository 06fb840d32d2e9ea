import type { Knex } from 'knex';
import { uuidv7 } from '../../util/ids';
import type { AlertCandidate } from './alertCandidate';
import type { Alert, AlertRuleName, Severity } from '../../types';
import { applyTenantScope, type TenantScope } from '../reports/tenantScope';

/** Candidates per insert statement (12 bindings each, far under PostgreSQL's 65535). */
const INSERT_CHUNK = 500;

/**
 * Stores the candidates that are new: one statement per chunk, `on conflict (rule, alert_key,
 * window_start) do nothing returning *`, so a rule, key and window get one alert however often and
 * in however many processes the rules run; returns only the alerts this call created, oldest
 * window first.
 */
export async function insertNewAlerts(knex: Knex, candidates: readonly AlertCandidate[]): Promise<Alert[]> {
  const created: Alert[] = [];
  for (let i = 0; i < candidates.length; i += INSERT_CHUNK) {
    const rows = candidates.slice(i, i + INSERT_CHUNK).map((c) => ({
      id: uuidv7(), rule: c.rule, alert_key: c.key, window_start: c.windowStart, window_end: c.windowEnd, severity: c.severity,
      tenant_id: c.tenantId, count: c.count, first_seen: c.firstSeen, last_seen: c.lastSeen, summary: c.summary, details: JSON.stringify(c.details),
    }));
    const inserted = (await knex('activity_alerts').insert(rows).onConflict(['rule', 'alert_key', 'window_start']).ignore().returning('*')) as AlertRow[];
    created.push(...inserted.map(toAlert));
  }
  return created.sort((a, b) => (a.windowStart < b.windowStart ? -1 : a.windowStart > b.windowStart ? 1 : a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export const ALERT_STATUSES = ['open', 'acknowledged'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export interface Acknowledgement {
  id: string;
  alertId: string;
  acknowledgedBy: string;
  note: string | null;
  createdAt: string;
}

/** An alert as `GET /alerts` lists it: open until someone acknowledges it, with every acknowledgement, oldest first. */
export type AlertWithStatus = Alert & { status: AlertStatus; acknowledgements: Acknowledgement[] };

export interface AlertFilters {
  rule?: AlertRuleName;
  severity?: Severity;
  status?: AlertStatus;
  key?: string;
  /** Alerts whose window starts at or after this. */
  startDate?: Date;
  /** Alerts whose window starts at or before this. */
  endDate?: Date;
}

/**
 * Alerts of the scope's tenant (every tenant: all alerts; one tenant: those whose counted rows all
 * belong to it), filtered, newest window first, with their acknowledgements.
 */
export async function listAlerts(knex: Knex, scope: TenantScope, filters: AlertFilters, page: { limit: number; offset: number }): Promise<{ data: AlertWithStatus[]; total: number }> {
  const filtered = (): Knex.QueryBuilder => {
    const query = applyTenantScope(knex('activity_alerts'), scope, 'activity_alerts', ['tenant_id']);
    if (filters.rule) query.where('rule', filters.rule);
    if (filters.severity) query.where('severity', filters.severity);
    if (filters.key) query.where('alert_key', filters.key);
    if (filters.startDate) query.where('window_start', '>=', filters.startDate);
    if (filters.endDate) query.where('window_start', '<=', filters.endDate);
    if (filters.status) {
      const acknowledged = knex('activity_alert_acknowledgements').select(knex.raw('1')).whereRaw('activity_alert_acknowledgements.alert_id = activity_alerts.id');
      if (filters.status === 'acknowledged') query.whereExists(acknowledged);
      else query.whereNotExists(acknowledged);
    }
    return query;
  };
  const [rows, counted] = await Promise.all([
    filtered().select('*').orderBy([{ column: 'window_start', order: 'desc' }, { column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(page.limit).offset(page.offset),
    filtered().count({ total: '*' }).first(),
  ]);
  return { data: await withAcknowledgements(knex, (rows as AlertRow[]).map(toAlert)), total: Number((counted as { total?: unknown } | undefined)?.total ?? 0) };
}

/** One alert of the scope with its acknowledgements; null when there is none with that id the scope may see. */
export async function findAlert(knex: Knex, scope: TenantScope, id: string): Promise<AlertWithStatus | null> {
  const row = (await applyTenantScope(knex('activity_alerts'), scope, 'activity_alerts', ['tenant_id']).where('id', id).first()) as AlertRow | undefined;
  if (!row) return null;
  return (await withAcknowledgements(knex, [toAlert(row)]))[0] ?? null;
}

/** Adds an acknowledgement row (a second one is a second row; nothing is updated). */
export async function acknowledgeAlert(knex: Knex, alertId: string, acknowledgedBy: string, note: string | null): Promise<Acknowledgement> {
  const [row] = (await knex('activity_alert_acknowledgements').insert({ id: uuidv7(), alert_id: alertId, acknowledged_by: acknowledgedBy, note }).returning('*')) as AcknowledgementRow[];
  return toAcknowledgement(row as AcknowledgementRow);
}

async function withAcknowledgements(knex: Knex, alerts: Alert[]): Promise<AlertWithStatus[]> {
  if (alerts.length === 0) return [];
  const rows = (await knex('activity_alert_acknowledgements').whereIn('alert_id', alerts.map((a) => a.id)).orderBy([{ column: 'created_at' }, { column: 'id' }])) as AcknowledgementRow[];
  const byAlert = new Map<string, Acknowledgement[]>();
  for (const row of rows) {
    const list = byAlert.get(row.alert_id) ?? [];
    list.push(toAcknowledgement(row));
    byAlert.set(row.alert_id, list);
  }
  return alerts.map((alert) => {
    const acknowledgements = byAlert.get(alert.id) ?? [];
    return { ...alert, status: acknowledgements.length > 0 ? 'acknowledged' : 'open', acknowledgements };
  });
}

interface AlertRow {
  id: string;
  rule: string;
  alert_key: string;
  window_start: Date | string;
  window_end: Date | string;
  severity: string;
  tenant_id: string | null;
  count: number | string;
  first_seen: Date | string;
  last_seen: Date | string;
  summary: string;
  details: Record<string, unknown> | string;
  created_at: Date | string;
}

interface AcknowledgementRow {
  id: string;
  alert_id: string;
  acknowledged_by: string;
  note: string | null;
  created_at: Date | string;
}

function toAlert(row: AlertRow): Alert {
  return {
    id: row.id,
    rule: row.rule as AlertRuleName,
    key: row.alert_key,
    severity: row.severity as Severity,
    tenantId: row.tenant_id ?? null,
    windowStart: iso(row.window_start),
    windowEnd: iso(row.window_end),
    count: Number(row.count),
    firstSeen: iso(row.first_seen),
    lastSeen: iso(row.last_seen),
    summary: row.summary,
    details: typeof row.details === 'string' ? (JSON.parse(row.details) as Record<string, unknown>) : row.details,
    createdAt: iso(row.created_at),
  };
}

function toAcknowledgement(row: AcknowledgementRow): Acknowledgement {
  return { id: row.id, alertId: row.alert_id, acknowledgedBy: row.acknowledged_by, note: row.note ?? null, createdAt: iso(row.created_at) };
}

function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
