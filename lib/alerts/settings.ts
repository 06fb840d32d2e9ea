import type { AlertRuleName, Severity } from '../types';

/** One enabled rule with every default filled in. */
export interface ResolvedAlertRule {
  threshold: number;
  windowMinutes: number;
  severity: Severity;
  /** error_rate only. */
  minRequests: number;
  /** impossible_travel only. */
  speedKmh: number;
  /** error_rate and critical_events only. */
  groupBy: 'global' | 'tenant';
}

export interface ResolvedWebhook {
  url: string;
  secret: string;
  maxAttempts: number;
  retryDelayMs: number;
  timeoutMs: number;
}

/** The `alerts` option resolved: the enabled rules only. */
export interface ResolvedAlerts {
  intervalMs: number;
  lookbackMinutes: number;
  webhook: ResolvedWebhook | null;
  rules: Partial<Record<AlertRuleName, ResolvedAlertRule>>;
}

type RuleDefaults = Pick<ResolvedAlertRule, 'threshold' | 'windowMinutes' | 'severity'> & Partial<Pick<ResolvedAlertRule, 'minRequests' | 'speedKmh' | 'groupBy'>>;

/** The documented defaults of every rule (lib/types.ts AlertOptions says the same in words). */
export const DEFAULT_ALERT_RULES: Readonly<Record<AlertRuleName, Readonly<RuleDefaults>>> = {
  failed_logins_per_ip: { threshold: 5, windowMinutes: 15, severity: 'high' },
  failed_logins_per_account: { threshold: 5, windowMinutes: 15, severity: 'high' },
  ip_many_accounts: { threshold: 3, windowMinutes: 15, severity: 'high' },
  auth_failure_burst: { threshold: 20, windowMinutes: 5, severity: 'medium' },
  scanning_404: { threshold: 30, windowMinutes: 5, severity: 'medium' },
  // threshold unused: one impossible move is enough.
  impossible_travel: { threshold: 1, windowMinutes: 60, severity: 'high', speedKmh: 900 },
  mass_export: { threshold: 10, windowMinutes: 10, severity: 'high' },
  error_rate: { threshold: 0.2, windowMinutes: 5, severity: 'high', minRequests: 50, groupBy: 'global' },
  critical_events: { threshold: 5, windowMinutes: 15, severity: 'critical', groupBy: 'global' },
  token_abuse: { threshold: 3, windowMinutes: 15, severity: 'high' },
};

export const DEFAULT_ALERT_INTERVAL_SECONDS = 30;
export const DEFAULT_ALERT_LOOKBACK_MINUTES = 60;
export const DEFAULT_WEBHOOK = { maxAttempts: 5, retryDelayMs: 1000, timeoutMs: 10_000 } as const;

/** The settings each rule accepts beyond enabled, windowMinutes and severity. */
export const RULE_SETTING_KEYS: Readonly<Record<AlertRuleName, readonly string[]>> = {
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
