/**
 * How rows are scored for risk: the risk options, their defaults and their checks. The score itself
 * is computed in the database as each batch is written (migrations/sql/generator/riskScoring.ts).
 */
import type { RiskFactor } from '../types';
import { checkFraction, checkInteger, checkKnownKeys, invalid, isPlainObject, stringList } from '../util/optionChecks';

/**
 * How rows are scored for risk, in the database as each batch is written (never on the request path).
 * A row's score is the sum of the weights of its factors, at most 1.
 */
export interface RiskOptions {
  /**
   * Weight of each factor, from 0 to 1.
   * @default { failed_authentication: 0.4, authorization_failure: 0.3, privileged_action: 0.2, export_or_bulk_read: 0.2,
   *   new_device: 0.2, new_country: 0.3, outside_working_hours: 0.1, burst_rate: 0.3 }
   */
  weights?: Partial<Record<RiskFactor, number>>;
  /**
   * Lowest score of each severity (below `low`: `info`). A domain event that names its own severity
   * keeps the higher of the two.
   * @default { low: 0.2, medium: 0.4, high: 0.6, critical: 0.8 }
   */
  severityThresholds?: { low?: number; medium?: number; high?: number; critical?: number };
  /**
   * A row scoring at least this is flagged `anomaly`.
   * @default 0.7
   */
  anomalyThreshold?: number;
  /**
   * Activity outside these hours is `outside_working_hours`: from hour `start` up to hour `end`
   * (exclusive) on `days` (ISO weekdays, 1 = Monday … 7 = Sunday), in `timeZone` (an IANA name).
   * `false` turns the factor off.
   * @default { start: 8, end: 18, days: [1, 2, 3, 4, 5], timeZone: 'UTC' }
   */
  workingHours?: { start?: number; end?: number; days?: number[]; timeZone?: string } | false;
  /**
   * The window of `burst_rate`, in seconds.
   * @default 60
   */
  burstWindowSeconds?: number;
  /**
   * More than this many rows of one user within `burstWindowSeconds` (the row included) is `burst_rate`.
   * @default 100
   */
  burstThreshold?: number;
  /**
   * A response larger than this many bytes (10 MB) is an `export_or_bulk_read`.
   * @default 10485760
   */
  bulkReadBytes?: number;
  /**
   * Actor roles (a domain event's `actorRole`) whose actions are `privileged_action`.
   * @default ['admin', 'system_admin']
   */
  privilegedRoles?: string[];
}

export interface RiskScoringOptions {
  /**
   * Risk scoring of every row: a score from 0 to 1 with the factors that produced it, a severity and an
   * anomaly flag, computed as each batch is written. `false` leaves the risk columns empty (and a
   * domain event's severity as given).
   * @default on, each setting at its default (see {@link RiskOptions})
   */
  risk?: false | RiskOptions;
}

export const RISK_DEFAULTS = {
  weights: {
    failed_authentication: 0.4,
    authorization_failure: 0.3,
    privileged_action: 0.2,
    export_or_bulk_read: 0.2,
    new_device: 0.2,
    new_country: 0.3,
    outside_working_hours: 0.1,
    burst_rate: 0.3,
  },
  severityThresholds: { low: 0.2, medium: 0.4, high: 0.6, critical: 0.8 },
  anomalyThreshold: 0.7,
  workingHours: { start: 8, end: 18, days: [1, 2, 3, 4, 5], timeZone: 'UTC' },
  burstWindowSeconds: 60,
  burstThreshold: 100,
  bulkReadBytes: 10 * 1024 * 1024,
  privilegedRoles: ['admin', 'system_admin'],
} as const satisfies { [K in keyof RiskOptions]-?: unknown } & { weights: Record<RiskFactor, number> };

/** The risk options with every default filled in; sent as they are (JSON) to the append function. */
export interface ResolvedRisk {
  weights: Record<RiskFactor, number>;
  severityThresholds: { low: number; medium: number; high: number; critical: number };
  anomalyThreshold: number;
  workingHours: { start: number; end: number; days: number[]; timeZone: string } | false;
  burstWindowSeconds: number;
  burstThreshold: number;
  bulkReadBytes: number;
  privilegedRoles: string[];
}

export interface ResolvedRiskScoringOptions {
  risk: ResolvedRisk | false;
}

const RISK_KEYS = {
  weights: true, severityThresholds: true, anomalyThreshold: true, workingHours: true,
  burstWindowSeconds: true, burstThreshold: true, bulkReadBytes: true, privilegedRoles: true,
} as const satisfies Record<keyof RiskOptions, true>;

export function resolveRiskScoringOptions(opts: RiskScoringOptions): ResolvedRiskScoringOptions {
  return { risk: resolveRisk(opts.risk) };
}

function resolveRisk(value: unknown): ResolvedRisk | false {
  if (value === false) return false;
  if (value !== undefined && !isPlainObject(value)) throw invalid('risk', value, 'pass false, or an object such as { weights: { new_country: 0.5 } }');
  const given: RiskOptions = value ?? {};
  checkKnownKeys(given, Object.keys(RISK_KEYS), 'risk');
  const weights = fractionGroup('risk.weights', given.weights, RISK_DEFAULTS.weights);
  const severityThresholds = fractionGroup('risk.severityThresholds', given.severityThresholds, RISK_DEFAULTS.severityThresholds);
  const order = ['low', 'medium', 'high', 'critical'] as const;
  for (let i = 1; i < order.length; i++) {
    const [lower, higher] = [order[i - 1]!, order[i]!];
    if (severityThresholds[higher] < severityThresholds[lower]) {
      throw invalid(`risk.severityThresholds.${higher}`, severityThresholds[higher], `use at least risk.severityThresholds.${lower} (${severityThresholds[lower]}): thresholds rise from low to critical`);
    }
  }
  const anomalyThreshold = given.anomalyThreshold ?? RISK_DEFAULTS.anomalyThreshold;
  checkFraction('risk.anomalyThreshold', anomalyThreshold);
  const burstWindowSeconds = given.burstWindowSeconds ?? RISK_DEFAULTS.burstWindowSeconds;
  checkInteger('risk.burstWindowSeconds', burstWindowSeconds, 1, 86_400);
  const burstThreshold = given.burstThreshold ?? RISK_DEFAULTS.burstThreshold;
  checkInteger('risk.burstThreshold', burstThreshold, 1, 10_000);
  const bulkReadBytes = given.bulkReadBytes ?? RISK_DEFAULTS.bulkReadBytes;
  checkInteger('risk.bulkReadBytes', bulkReadBytes, 1, 2 ** 31 - 1);
  return {
    weights,
    severityThresholds,
    anomalyThreshold,
    workingHours: resolveWorkingHours(given.workingHours),
    burstWindowSeconds,
    burstThreshold,
    bulkReadBytes,
    privilegedRoles: stringList('risk.privilegedRoles', given.privilegedRoles, RISK_DEFAULTS.privilegedRoles),
  };
}

function resolveWorkingHours(value: unknown): ResolvedRisk['workingHours'] {
  if (value === false) return false;
  if (value !== undefined && !isPlainObject(value)) throw invalid('risk.workingHours', value, "pass false, or an object such as { start: 8, end: 18, days: [1, 2, 3, 4, 5], timeZone: 'Europe/Berlin' }");
  const given = value ?? {};
  checkKnownKeys(given, Object.keys(RISK_DEFAULTS.workingHours), 'risk.workingHours');
  const start = given['start'] ?? RISK_DEFAULTS.workingHours.start;
  checkInteger('risk.workingHours.start', start, 0, 23);
  const end = given['end'] ?? RISK_DEFAULTS.workingHours.end;
  checkInteger('risk.workingHours.end', end, 1, 24);
  if ((end as number) <= (start as number)) throw invalid('risk.workingHours.end', end, `use an hour after risk.workingHours.start (${String(start)}), up to 24`);
  const days = given['days'] ?? [...RISK_DEFAULTS.workingHours.days];
  if (!Array.isArray(days) || days.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > 7)) {
    throw invalid('risk.workingHours.days', days, 'pass ISO weekdays, 1 (Monday) to 7 (Sunday), such as [1, 2, 3, 4, 5]');
  }
  if (days.length === 0) throw invalid('risk.workingHours.days', days, 'name at least one working day, or pass workingHours: false to turn the factor off');
  const timeZone = given['timeZone'] ?? RISK_DEFAULTS.workingHours.timeZone;
  if (typeof timeZone !== 'string' || !isTimeZone(timeZone)) throw invalid('risk.workingHours.timeZone', timeZone, "use an IANA time zone name such as 'UTC' or 'Europe/Berlin'");
  return { start: start as number, end: end as number, days: [...new Set(days as number[])].sort((a, b) => a - b), timeZone };
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return name.trim() !== '';
  } catch {
    return false;
  }
}

/** A group of numbers from 0 to 1, such as the weights: each given one checked, the rest defaulted. */
function fractionGroup<T extends Record<string, number>>(name: string, value: unknown, defaults: Readonly<T>): T {
  const result = { ...defaults } as T;
  if (value === undefined) return result;
  if (!isPlainObject(value)) throw invalid(name, value, `pass an object such as ${JSON.stringify(defaults).slice(0, 60)}…`);
  checkKnownKeys(value, Object.keys(defaults), name);
  for (const [key, v] of Object.entries(value)) {
    checkFraction(`${name}.${key}`, v);
    (result as Record<string, number>)[key] = v as number;
  }
  return result;
}
