/** Which alert rules run, how often, and where alerts are sent: the alert options, their defaults and their checks. */
import { SEVERITIES, type AlertRuleName, type Severity } from '../types';
import type { ResolvedAlertRule, ResolvedAlerts } from './settings';
import { resolveWebhook, type AlertWebhookOptions } from './webhookOptions';
import { checkBoolean, checkInteger, checkKnownKeys, invalid, isPlainObject } from '../util/optionChecks';

/**
 * The settings of one alert rule. A rule fires at most once per key (an IP, an account, a user,
 * `global` or a tenant) and window. The rules keyed by an IP, an account or a user count over any
 * span of `windowMinutes` (a burst across the clock's :15 is one burst); their alert's window starts
 * at its first counted row, and the key's next alert needs rows after it. `error_rate`,
 * `critical_events` and `impossible_travel` count per fixed window aligned on the Unix epoch (a
 * 15-minute window runs :00–:15, :15–:30, …).
 */
export interface AlertRuleSettings {
  /**
   * `false` turns the rule off.
   * @default true
   */
  enabled?: boolean;
  /**
   * What fires the rule within a window: rows (most rules), distinct accounts (`ip_many_accounts`),
   * or the share of 5xx responses from 0 to 1 (`error_rate`). Unused by `impossible_travel`.
   * @default the rule's, in {@link AlertOptions.rules}
   */
  threshold?: number;
  /**
   * The window, in minutes (for `impossible_travel`, the window one alert per user covers).
   * @default the rule's, in {@link AlertOptions.rules}
   */
  windowMinutes?: number;
  /**
   * The severity of the alerts the rule creates.
   * @default the rule's, in {@link AlertOptions.rules}
   */
  severity?: Severity;
  /**
   * `error_rate` only: requests a window needs before its rate counts.
   * @default 50
   */
  minRequests?: number;
  /**
   * `impossible_travel` only: the fastest believable travel, in km/h (an airliner).
   * @default 900
   */
  speedKmh?: number;
  /**
   * `error_rate` and `critical_events`: one key for all rows (`'global'`) or one per tenant
   * (`'tenant'`; rows without one are not counted).
   * @default 'global'
   */
  groupBy?: 'global' | 'tenant';
}

/**
 * Alerts: built-in rules evaluated by a periodic job (never on the request path) over recent
 * activity. What each rule counts (its threshold, window and severity by default: `rules` below):
 * - `failed_logins_per_ip`: failed logins (`login_failed`) from one IP
 * - `failed_logins_per_account`: failed logins against one account (user id)
 * - `ip_many_accounts`: distinct accounts one IP fails logins against
 * - `auth_failure_burst`: responses 401 or 403 to one IP
 * - `scanning_404`: responses 404 to one IP
 * - `impossible_travel`: one user seen in two countries sooner than an airliner (`speedKmh`) could
 *   fly between them (country centroids); one alert per user per window
 * - `mass_export`: `audit_export` or `file_download` rows of one user
 * - `error_rate`: the share of 5xx responses, once a window has `minRequests` responses; key `global`
 * - `critical_events`: rows of severity `critical`; key `global`
 * - `token_abuse`: rows with action `authn_token_invalid`, `authn_token_expired` or
 *   `authn_token_reuse` from one IP (key `ip:<ip>`) or for one account (key `account:<id>`)
 */
export interface AlertOptions {
  /**
   * Seconds between evaluations.
   * @default 30
   */
  intervalSeconds?: number;
  /**
   * How far back each evaluation reads, in minutes (from the start of the window that holds that
   * moment); rows stored later than this after they happened are not evaluated.
   * @default 60
   */
  lookbackMinutes?: number;
  /**
   * POST each new alert as JSON to a URL, signed (see {@link AlertWebhookOptions}).
   * @default none
   */
  webhook?: AlertWebhookOptions;
  /**
   * Per-rule settings, by rule name; `false` turns a rule off. A rule's other settings default to
   * those of {@link AlertRuleSettings}.
   * @default {
   *   failed_logins_per_ip: { threshold: 5, windowMinutes: 15, severity: 'high' },
   *   failed_logins_per_account: { threshold: 5, windowMinutes: 15, severity: 'high' },
   *   ip_many_accounts: { threshold: 3, windowMinutes: 15, severity: 'high' },
   *   auth_failure_burst: { threshold: 20, windowMinutes: 5, severity: 'medium' },
   *   scanning_404: { threshold: 30, windowMinutes: 5, severity: 'medium' },
   *   impossible_travel: { threshold: 1, windowMinutes: 60, severity: 'high' },
   *   mass_export: { threshold: 10, windowMinutes: 10, severity: 'high' },
   *   error_rate: { threshold: 0.2, windowMinutes: 5, severity: 'high' },
   *   critical_events: { threshold: 5, windowMinutes: 15, severity: 'critical' },
   *   token_abuse: { threshold: 3, windowMinutes: 15, severity: 'high' },
   * }
   */
  rules?: Partial<Record<AlertRuleName, AlertRuleSettings | false>>;
}

export interface AlertingOptions {
  /**
   * Built-in alert rules, evaluated every `intervalSeconds` by a job (with `jobs`) or on
   * `tracker.runJob('alerts')`; alerts are stored in `activity_alerts`, served at `GET /alerts`,
   * emitted as `tracker.on('alert')` and optionally POSTed to a webhook. `false` turns alerting off.
   * @default on, each setting at its default (see {@link AlertOptions})
   */
  alerts?: false | AlertOptions;
}

export const ALERT_DEFAULTS = {
  intervalSeconds: 30,
  lookbackMinutes: 60,
  rules: {
    failed_logins_per_ip: { threshold: 5, windowMinutes: 15, severity: 'high' },
    failed_logins_per_account: { threshold: 5, windowMinutes: 15, severity: 'high' },
    ip_many_accounts: { threshold: 3, windowMinutes: 15, severity: 'high' },
    auth_failure_burst: { threshold: 20, windowMinutes: 5, severity: 'medium' },
    scanning_404: { threshold: 30, windowMinutes: 5, severity: 'medium' },
    // threshold unused: one impossible move is enough.
    impossible_travel: { threshold: 1, windowMinutes: 60, severity: 'high' },
    mass_export: { threshold: 10, windowMinutes: 10, severity: 'high' },
    error_rate: { threshold: 0.2, windowMinutes: 5, severity: 'high' },
    critical_events: { threshold: 5, windowMinutes: 15, severity: 'critical' },
    token_abuse: { threshold: 3, windowMinutes: 15, severity: 'high' },
  },
  /** The settings of AlertRuleSettings every rule shares. */
  ruleSettings: { enabled: true, minRequests: 50, speedKmh: 900, groupBy: 'global' },
} as const satisfies { [K in keyof AlertOptions]?: unknown } & {
  rules: Record<AlertRuleName, Pick<ResolvedAlertRule, 'threshold' | 'windowMinutes' | 'severity'>>;
  ruleSettings: Required<Pick<AlertRuleSettings, 'enabled' | 'minRequests' | 'speedKmh' | 'groupBy'>>;
};

/** The settings each rule accepts beyond enabled, windowMinutes and severity. */
const RULE_SETTING_KEYS: Readonly<Record<AlertRuleName, readonly (keyof AlertRuleSettings)[]>> = {
  failed_logins_per_ip: ['threshold'],
  failed_logins_per_account: ['threshold'],
  ip_many_accounts: ['threshold'],
  auth_failure_burst: ['threshold'],
  scanning_404: ['threshold'],
  impossible_travel: ['speedKmh'],
  mass_export: ['threshold'],
  error_rate: ['threshold', 'minRequests', 'groupBy'],
  critical_events: ['threshold', 'groupBy'],
  token_abuse: ['threshold'],
};

const ALERT_KEYS = { intervalSeconds: true, lookbackMinutes: true, webhook: true, rules: true } as const satisfies Record<keyof AlertOptions, true>;

export interface ResolvedAlertingOptions {
  alerts: ResolvedAlerts | false;
}

export function resolveAlertingOptions(opts: AlertingOptions): ResolvedAlertingOptions {
  return { alerts: resolveAlerts(opts.alerts) };
}

function resolveAlerts(value: unknown): ResolvedAlerts | false {
  if (value === false) return false;
  if (value !== undefined && !isPlainObject(value)) throw invalid('alerts', value, 'pass false, or an object such as { rules: { failed_logins_per_ip: { threshold: 10 } } }');
  const given = value ?? {};
  checkKnownKeys(given, Object.keys(ALERT_KEYS), 'alerts');
  const intervalSeconds = given['intervalSeconds'] ?? ALERT_DEFAULTS.intervalSeconds;
  checkInteger('alerts.intervalSeconds', intervalSeconds, 1, 86_400);
  const lookbackMinutes = given['lookbackMinutes'] ?? ALERT_DEFAULTS.lookbackMinutes;
  checkInteger('alerts.lookbackMinutes', lookbackMinutes, 1, 10_080);
  const rulesGiven = given['rules'] ?? {};
  if (!isPlainObject(rulesGiven)) throw invalid('alerts.rules', rulesGiven, 'pass an object keyed by rule name, such as { scanning_404: { threshold: 50 } }');
  const ruleNames = Object.keys(ALERT_DEFAULTS.rules) as AlertRuleName[];
  checkKnownKeys(rulesGiven, ruleNames, 'alerts.rules');
  const rules: ResolvedAlerts['rules'] = {};
  for (const name of ruleNames) {
    const rule = resolveRule(name, rulesGiven[name]);
    if (rule) rules[name] = rule;
  }
  return { intervalMs: (intervalSeconds as number) * 1000, lookbackMinutes: lookbackMinutes as number, webhook: resolveWebhook(given['webhook']), rules };
}

/** One rule's settings over its defaults; null when it is turned off. */
function resolveRule(name: AlertRuleName, settings: unknown): ResolvedAlertRule | null {
  if (settings === false) return null;
  const prefix = `alerts.rules.${name}`;
  const defaults = ALERT_DEFAULTS.rules[name];
  if (settings !== undefined && !isPlainObject(settings)) throw invalid(prefix, settings, `pass false, or an object such as { windowMinutes: ${defaults.windowMinutes} }`);
  const s = settings ?? {};
  checkKnownKeys(s, ['enabled', 'windowMinutes', 'severity', ...RULE_SETTING_KEYS[name]], prefix);
  const { enabled: enabledByDefault, ...shared } = ALERT_DEFAULTS.ruleSettings;
  const enabled = s['enabled'] ?? enabledByDefault;
  checkBoolean(`${prefix}.enabled`, enabled);
  if (!enabled) return null;
  const rule: ResolvedAlertRule = { ...shared, ...defaults };
  if (s['threshold'] !== undefined) {
    if (name === 'error_rate') {
      if (typeof s['threshold'] !== 'number' || !Number.isFinite(s['threshold']) || s['threshold'] < 0 || s['threshold'] >= 1) throw invalid(`${prefix}.threshold`, s['threshold'], 'use the share of 5xx responses above which it fires, a number from 0 up to (not including) 1, such as 0.2');
    } else {
      checkInteger(`${prefix}.threshold`, s['threshold'], 1, 1_000_000);
    }
    rule.threshold = s['threshold'] as number;
  }
  if (s['windowMinutes'] !== undefined) { checkInteger(`${prefix}.windowMinutes`, s['windowMinutes'], 1, 1440); rule.windowMinutes = s['windowMinutes'] as number; }
  if (s['severity'] !== undefined) {
    if (!(SEVERITIES as readonly unknown[]).includes(s['severity'])) throw invalid(`${prefix}.severity`, s['severity'], `use one of ${SEVERITIES.join(', ')}`);
    rule.severity = s['severity'] as Severity;
  }
  if (s['minRequests'] !== undefined) { checkInteger(`${prefix}.minRequests`, s['minRequests'], 1, 1_000_000); rule.minRequests = s['minRequests'] as number; }
  if (s['speedKmh'] !== undefined) { checkInteger(`${prefix}.speedKmh`, s['speedKmh'], 1, 100_000); rule.speedKmh = s['speedKmh'] as number; }
  if (s['groupBy'] !== undefined) {
    if (s['groupBy'] !== 'global' && s['groupBy'] !== 'tenant') throw invalid(`${prefix}.groupBy`, s['groupBy'], "use 'global' (one key for all rows) or 'tenant' (one key per tenant)");
    rule.groupBy = s['groupBy'];
  }
  return rule;
}
