import type { AlertRuleName, Severity } from '../../types';

/** An alert a rule would create; stored unless its rule, key and window already have one. */
export interface AlertCandidate {
  rule: AlertRuleName;
  key: string;
  windowStart: Date;
  windowEnd: Date;
  severity: Severity;
  tenantId: string | null;
  count: number;
  firstSeen: Date;
  lastSeen: Date;
  summary: string;
  details: Record<string, unknown>;
}
