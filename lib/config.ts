/**
 * Resolves the options a tracker is built with. Each option's home is its feature's options module
 * (its type and TSDoc, its default, its checks); this refuses unknown keys and joins the features'
 * resolved slices into one flat ResolvedConfig.
 */
import type { Options } from './types';
import { checkKnownKeys, invalid } from './util/optionChecks';
import { resolveTrackerOptions, type ResolvedTrackerOptions } from './trackerOptions';
import { resolveJobOptions, type ResolvedJobOptions } from './jobs/options';
import { resolveRetentionOptions, type ResolvedRetentionOptions } from './jobs/retentionOptions';
import { resolveSessionOptions, type ResolvedSessionOptions } from './capture/sessionOptions';
import { resolveCaptureOptions, type ResolvedCaptureOptions } from './capture/options';
import { resolveAuthOptions, type ResolvedAuthOptions } from './auth/options';
import { resolveStoreOptions, type ResolvedStoreOptions } from './store/options';
import { resolveRecorderOptions, type ResolvedRecorderOptions } from './recorder/options';
import { resolveReportOptions, type ResolvedReportOptions } from './router/options';
import { resolveRiskScoringOptions, type ResolvedRiskScoringOptions } from './risk/options';
import { resolveAlertingOptions, type ResolvedAlertingOptions } from './alerts/options';

export type { ResolvedRisk } from './risk/options';

export type ResolvedConfig = ResolvedTrackerOptions & ResolvedJobOptions & ResolvedRetentionOptions & ResolvedSessionOptions & ResolvedCaptureOptions
  & ResolvedAuthOptions & ResolvedStoreOptions & ResolvedRecorderOptions & ResolvedReportOptions
  & ResolvedRiskScoringOptions & ResolvedAlertingOptions;

/** Every top-level option, in the order an unknown one's message lists them; the compiler keeps it complete. */
export const OPTION_KEYS = {
  database: true, dataDir: true, autoMigrate: true, sessionTimeoutMinutes: true, retentionDays: true, retention: true, detailedTracking: true,
  jwtSecret: true, jwtPublicKey: true, jwtAlgorithm: true, jwtIssuer: true, jwtAudience: true, jwtClockToleranceSeconds: true,
  authorize: true, jobs: true, sessionSweepMinutes: true, partitionInterval: true, partitionsAhead: true, suspicious: true, exportRateLimit: true, liveStreams: true, getUserId: true,
  getTenantId: true, tenants: true, rowLevelSecurity: true, classify: true, routeActivityTypes: true, loginPaths: true,
  logoutPaths: true, tokenRefreshPaths: true, skip: true, sensitiveKeys: true, dropUnknownLoginNames: true, loginNameFields: true,
  limits: true, headers: true, geo: true,
  sessionCookie: true, sessionSecret: true, signingKey: true, batchSize: true, flushIntervalMs: true, maxQueueSize: true,
  journal: true, retry: true, writeTimeoutMs: true, closeTimeoutMs: true, handleSignals: true, risk: true, alerts: true,
  logger: true,
} as const satisfies Record<keyof Options, true>;

const KNOWN_OPTIONS = Object.keys(OPTION_KEYS);

export function resolveConfig(options: Options | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw invalid('options', options, 'pass an options object, or nothing for the defaults');
  }
  const opts: Options = options ?? {};
  checkKnownKeys(opts, KNOWN_OPTIONS);
  const tracker = resolveTrackerOptions(opts);
  const jobs = resolveJobOptions(opts, env);
  const sessions = resolveSessionOptions(opts, env);
  const capture = resolveCaptureOptions(opts, env);
  const auth = resolveAuthOptions(opts, env);
  const store = resolveStoreOptions(opts, env);
  const recorder = resolveRecorderOptions(opts, store.dataDir);
  const retention = resolveRetentionOptions(opts, env, store.dataDir);
  return {
    ...tracker, ...jobs, ...retention, ...sessions, ...capture, ...auth, ...store, ...recorder,
    ...resolveReportOptions(opts), ...resolveRiskScoringOptions(opts), ...resolveAlertingOptions(opts),
  };
}
