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
