import type { Alert, AlertRuleName, Logger } from '../types';
import { RULES } from '../alerts/rules';
import type { ResolvedAlerts } from '../alerts/settings';
import type { AlertCandidate } from '../store/alerts/alertCandidate';
import { insertNewAlerts } from '../store/alerts/alertRows';
import type { Database } from '../store/database';
import { messageOf } from '../util/messageOf';

/**
 * Evaluates every enabled rule over the activity of the last `lookbackMinutes` (from the start of
 * the window holding that moment, so windows are read whole) and stores the alerts that are new.
 * Resolves with those alerts only: a rule, key and window that already has an alert (from an
 * earlier run or another process) is not returned again. A rule that fails is skipped and the
 * others still run (one log line names the failed ones); when every rule fails (the database is
 * away) the run fails, and the scheduler logs it once.
 */
export async function evaluateAlerts(db: Database, settings: ResolvedAlerts, logger: Logger, now: Date = new Date()): Promise<Alert[]> {
  const candidates: AlertCandidate[] = [];
  const failures: Array<{ rule: AlertRuleName; error: unknown }> = [];
  const rules = Object.entries(settings.rules) as Array<[AlertRuleName, NonNullable<ResolvedAlerts['rules'][AlertRuleName]>]>;
  for (const [name, rule] of rules) {
    const windowMs = rule.windowMinutes * 60_000;
    const from = new Date(Math.floor((now.getTime() - settings.lookbackMinutes * 60_000) / windowMs) * windowMs);
    try {
      candidates.push(...await RULES[name](db, rule, { from, until: now }));
    } catch (error) {
      failures.push({ rule: name, error });
    }
  }
  if (failures.length > 0 && failures.length === rules.length) throw failures[0]?.error;
  if (failures.length > 0) {
    logger.error(`Alert rules ${failures.map((f) => f.rule).join(', ')} could not be evaluated; the other rules ran`, {
      errors: Object.fromEntries(failures.map((f) => [f.rule, messageOf(f.error)])),
    });
  }
  return insertNewAlerts(db, candidates);
}
