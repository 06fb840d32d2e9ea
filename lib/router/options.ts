/** What the report routes flag and how often they export: the report options, their defaults and their checks. */
import { numberGroup } from '../util/optionChecks';

export interface SuspiciousThresholds {
  /** Requests slower than this many milliseconds are reported. */
  slowRequestMs: number;
  /** Responses larger than this many bytes are reported. */
  largeResponseBytes: number;
  /** This many failed logins from one IP or against one account within the window are reported. */
  failedLoginThreshold: number;
  /** The window of `failedLoginThreshold`, in minutes. */
  failedLoginWindowMinutes: number;
}

export interface ReportOptions {
  /**
   * Thresholds of `GET /suspicious` (`largeResponseBytes`: 10 MB).
   * @default { slowRequestMs: 5000, largeResponseBytes: 10485760, failedLoginThreshold: 5, failedLoginWindowMinutes: 15 }
   */
  suspicious?: Partial<SuspiciousThresholds>;
  /**
   * Requests to `GET /export` allowed per user per window.
   * @default { windowMs: 60000, max: 10 }
   */
  exportRateLimit?: { windowMs?: number; max?: number };
  /**
   * The console's live mode (`GET /live`, Server-Sent Events): how many streams one user may hold
   * open at once (one more is refused with 429), and how often each looks for new rows.
   * @default { perUser: 3, pollMs: 1000 }
   */
  liveStreams?: { perUser?: number; pollMs?: number };
}

export const REPORT_DEFAULTS = {
  suspicious: { slowRequestMs: 5000, largeResponseBytes: 10 * 1024 * 1024, failedLoginThreshold: 5, failedLoginWindowMinutes: 15 },
  exportRateLimit: { windowMs: 60_000, max: 10 },
  liveStreams: { perUser: 3, pollMs: 1000 },
} as const satisfies { [K in keyof ReportOptions]?: unknown };

export interface ResolvedReportOptions {
  suspicious: SuspiciousThresholds;
  exportRateLimit: { windowMs: number; max: number };
  liveStreams: { perUser: number; pollMs: number };
}

export function resolveReportOptions(opts: ReportOptions): ResolvedReportOptions {
  return {
    suspicious: numberGroup<SuspiciousThresholds>('suspicious', opts.suspicious, REPORT_DEFAULTS.suspicious, {
      slowRequestMs: [1, 86_400_000], largeResponseBytes: [1, 2 ** 31 - 1], failedLoginThreshold: [1, 1_000_000], failedLoginWindowMinutes: [1, 10_080],
    }),
    exportRateLimit: numberGroup<ResolvedReportOptions['exportRateLimit']>('exportRateLimit', opts.exportRateLimit, REPORT_DEFAULTS.exportRateLimit, { windowMs: [1000, 86_400_000], max: [1, 100_000] }),
    liveStreams: numberGroup<ResolvedReportOptions['liveStreams']>('liveStreams', opts.liveStreams, REPORT_DEFAULTS.liveStreams, { perUser: [1, 100], pollMs: [100, 60_000] }),
  };
}
