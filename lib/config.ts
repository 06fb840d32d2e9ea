import path from 'node:path';
import type { Knex } from 'knex';
import { ActivityTrackingError } from './errors';
import { ACTIVITY_TYPES, SEVERITIES, type ActivityType, type Logger, type Options, type RiskFactor, type RiskOptions, type SuspiciousThresholds } from './types';
import { DEFAULT_SANITIZE_LIMITS, type SanitizeLimits } from './capture/sanitize';
import { messageOf } from './util/messageOf';
import { trimSlash } from './util/paths';
import { resolveSigningKey, SIGNING_KEY_ENV, writerKey, type BatchSigningKey } from './integrity/batchSignatures';
import { DEFAULT_ALERT_INTERVAL_SECONDS, DEFAULT_ALERT_LOOKBACK_MINUTES, DEFAULT_ALERT_RULES, DEFAULT_WEBHOOK, RULE_SETTING_KEYS, type ResolvedAlertRule, type ResolvedAlerts, type ResolvedWebhook } from './alerts/settings';

export const DEFAULT_LOGIN_PATHS = [
  '/login', '/signin', '/auth/login', '/auth/signin', '/api/login', '/api/auth/login',
  '/api/auth/signin', '/api/v1/auth/login', '/session', '/sessions',
];
export const DEFAULT_LOGOUT_PATHS = [
  '/logout', '/signout', '/auth/logout', '/auth/signout', '/api/logout', '/api/auth/logout',
  '/api/auth/signout', '/api/v1/auth/logout',
];
export const DEFAULT_TOKEN_REFRESH_PATHS = [
  '/token/refresh', '/auth/refresh', '/api/auth/refresh', '/refresh', '/refresh-token',
  '/api/token/refresh', '/oauth/token', '/api/v1/auth/refresh',
];
export const DEFAULT_CAPTURED_HEADERS = [
  'accept', 'accept-language', 'content-type', 'origin', 'referer', 'x-request-id', 'x-correlation-id',
];

export interface ResolvedConfig {
  database: { kind: 'embedded'; dataDir: string } | { kind: 'postgres'; url: string } | { kind: 'knex'; knex: Knex };
  autoMigrate: boolean;
  sessionTimeoutMinutes: number;
  retentionDays: number;
  detailedTracking: boolean;
  jwtSecret: string | undefined;
  jwtPublicKey: string | undefined;
  jwtAlgorithm: 'RS256' | 'ES256' | undefined;
  jwtIssuer: string | undefined;
  jwtAudience: string | undefined;
  jwtClockToleranceSeconds: number;
  authorize: Options['authorize'];
  jobs: boolean;
  sessionSweepMinutes: number;
  suspicious: SuspiciousThresholds;
  exportRateLimit: { windowMs: number; max: number };
  getUserId: Options['getUserId'];
  getTenantId: Options['getTenantId'];
  tenants: 'required' | 'optional';
  rowLevelSecurity: boolean;
  classify: Options['classify'];
  routeActivityTypes: ReadonlyMap<string, ActivityType>;
  loginPaths: ReadonlySet<string>;
  logoutPaths: ReadonlySet<string>;
  tokenRefreshPaths: ReadonlySet<string>;
  skip: Options['skip'];
  sensitiveKeys: readonly string[];
  limits: SanitizeLimits;
  headers: readonly string[];
  geo: boolean;
  sessionCookie: { name: string } | false;
  sessionSecret: string | undefined;
  /** ACTIVITY_DATA_DIR or `dataDir`, on PostgreSQL too: the journal's default home and the session cookie key's. */
  dataDir: string;
  /** The resolved `signingKey` option (or ACTIVITY_SIGNING_KEY), able to sign; null when none is set. */
  signingKey: BatchSigningKey | null;
  batchSize: number;
  flushIntervalMs: number;
  maxQueueSize: number;
  journal: false | { dir: string; mode: 'spill' | 'write-ahead'; maxBytes: number | null };
  retry: { initialDelayMs: number; maxDelayMs: number };
  writeTimeoutMs: number;
  closeTimeoutMs: number;
  handleSignals: boolean;
  risk: ResolvedRisk | false;
  alerts: ResolvedAlerts | false;
  logger: Logger;
}

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

type OptionKey = keyof Options;
const OPTION_KEYS: readonly OptionKey[] = [
  'database', 'dataDir', 'autoMigrate', 'sessionTimeoutMinutes', 'retentionDays', 'detailedTracking',
  'jwtSecret', 'jwtPublicKey', 'jwtAlgorithm', 'jwtIssuer', 'jwtAudience', 'jwtClockToleranceSeconds',
  'authorize', 'jobs', 'sessionSweepMinutes', 'suspicious', 'exportRateLimit', 'getUserId', 'getTenantId', 'tenants', 'rowLevelSecurity', 'classify', 'routeActivityTypes', 'loginPaths', 'logoutPaths',
  'tokenRefreshPaths', 'skip', 'sensitiveKeys', 'limits', 'headers', 'geo', 'sessionCookie',
  'sessionSecret', 'signingKey', 'batchSize', 'flushIntervalMs', 'maxQueueSize', 'journal', 'retry', 'writeTimeoutMs', 'closeTimeoutMs',
  'handleSignals', 'risk', 'alerts', 'logger',
];
/** Postgres caps a statement at 65535 bind parameters; a row of user_activity binds 24. */
const MAX_BATCH_SIZE = 2000;

export const consoleLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message, context) => console.warn(`[activity-tracking] ${message}`, context ?? ''),
  error: (message, context) => console.error(`[activity-tracking] ${message}`, context ?? ''),
};

export function resolveConfig(options: Options | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw invalid('options', options, 'pass an options object, or nothing for the defaults');
  }
  const opts: Options = options ?? {};
  rejectUnknownKeys(opts);
  const logger = opts.logger ?? consoleLogger;
  if (!isLogger(logger)) throw invalid('logger', logger, 'pass an object with debug, info, warn and error functions');

  const retentionDays = opts.retentionDays ?? envInteger(env, 'ACTIVITY_LOG_RETENTION_DAYS', 90, 1);
  checkInteger('retentionDays', retentionDays, 1, 36500);
  const sessionTimeoutMinutes = opts.sessionTimeoutMinutes ?? envInteger(env, 'SESSION_TIMEOUT', 30, 1);
  checkInteger('sessionTimeoutMinutes', sessionTimeoutMinutes, 1, 525600);
  const detailedTracking = opts.detailedTracking ?? envBoolean(env, 'ENABLE_DETAILED_TRACKING', true);
  checkBoolean('detailedTracking', detailedTracking);

  const jwtSecret = opts.jwtSecret ?? (env['ACTIVITY_JWT_SECRET'] || undefined);
  if (jwtSecret !== undefined && (typeof jwtSecret !== 'string' || jwtSecret.length < 16)) {
    throw invalid(opts.jwtSecret !== undefined ? 'jwtSecret' : 'ACTIVITY_JWT_SECRET', HIDDEN,
      'use a random secret of at least 16 characters (32 or more recommended)');
  }

  const reportAuth = resolveReportAuth(opts);

  for (const fn of ['getUserId', 'getTenantId', 'classify', 'skip', 'authorize'] as const) {
    if (opts[fn] !== undefined && typeof opts[fn] !== 'function') throw invalid(fn, opts[fn], 'pass a function or leave it out');
  }

  const routeActivityTypes = new Map<string, ActivityType>();
  if (opts.routeActivityTypes !== undefined) {
    if (!isPlainObject(opts.routeActivityTypes)) throw invalid('routeActivityTypes', opts.routeActivityTypes, "pass an object such as { 'POST /api/approve': 'data_update' }");
    for (const [key, type] of Object.entries(opts.routeActivityTypes)) {
      if (!(ACTIVITY_TYPES as readonly string[]).includes(type)) {
        throw invalid(`routeActivityTypes['${key}']`, type, `use one of ${ACTIVITY_TYPES.join(', ')}`);
      }
      routeActivityTypes.set(normalizeRouteKey(key), type);
    }
  }

  const limits = { ...DEFAULT_SANITIZE_LIMITS };
  if (opts.limits !== undefined) {
    if (!isPlainObject(opts.limits)) throw invalid('limits', opts.limits, 'pass an object such as { maxTotalBytes: 16384 }');
    for (const [key, value] of Object.entries(opts.limits)) {
      if (!(key in limits)) throw unknownOption(`limits.${key}`, Object.keys(limits).map((k) => `limits.${k}`));
      checkInteger(`limits.${key}`, value, 1, 10_000_000);
      limits[key as keyof SanitizeLimits] = value as number;
    }
  }

  const sessionCookie = resolveSessionCookie(opts.sessionCookie);
  const sessionSecret = resolveSessionSecret(opts, env);
  const geo = opts.geo ?? true;
  checkBoolean('geo', geo);
  const jobs = opts.jobs ?? true;
  checkBoolean('jobs', jobs);
  const sessionSweepMinutes = opts.sessionSweepMinutes ?? 5;
  checkInteger('sessionSweepMinutes', sessionSweepMinutes, 1, 1440);
  const autoMigrate = opts.autoMigrate ?? false;
  checkBoolean('autoMigrate', autoMigrate);

  const batchSize = opts.batchSize ?? 500;
  checkInteger('batchSize', batchSize, 1, MAX_BATCH_SIZE);
  const flushIntervalMs = opts.flushIntervalMs ?? 50;
  checkInteger('flushIntervalMs', flushIntervalMs, 1, 60_000);
  const maxQueueSize = opts.maxQueueSize ?? 10_000;
  checkInteger('maxQueueSize', maxQueueSize, batchSize, 10_000_000);
  const retry = resolveNumberGroup('retry', opts.retry, { initialDelayMs: 100, maxDelayMs: 10_000 }, { initialDelayMs: [1, 60_000], maxDelayMs: [1, 3_600_000] });
  if (retry.maxDelayMs < retry.initialDelayMs) throw invalid('retry.maxDelayMs', retry.maxDelayMs, `use at least retry.initialDelayMs (${retry.initialDelayMs})`);
  const writeTimeoutMs = opts.writeTimeoutMs ?? 30_000;
  checkInteger('writeTimeoutMs', writeTimeoutMs, 100, 3_600_000);
  const closeTimeoutMs = opts.closeTimeoutMs ?? 10_000;
  checkInteger('closeTimeoutMs', closeTimeoutMs, 0, 3_600_000);
  const handleSignals = opts.handleSignals ?? false;
  checkBoolean('handleSignals', handleSignals);
  const tenants = opts.tenants ?? (opts.getTenantId !== undefined ? 'required' : 'optional');
  if (tenants !== 'required' && tenants !== 'optional') {
    throw invalid('tenants', tenants, "use 'required' (report readers other than system_admin need a tenant claim) or 'optional'");
  }
  const rowLevelSecurity = opts.rowLevelSecurity ?? false;
  checkBoolean('rowLevelSecurity', rowLevelSecurity);

  return {
    database: resolveDatabase(opts, env),
    autoMigrate,
    sessionTimeoutMinutes,
    retentionDays,
    detailedTracking,
    jwtSecret,
    ...reportAuth,
    authorize: opts.authorize,
    jobs,
    sessionSweepMinutes,
    suspicious: resolveNumberGroup('suspicious', opts.suspicious, DEFAULT_SUSPICIOUS_THRESHOLDS, {
      slowRequestMs: [1, 86_400_000], largeResponseBytes: [1, 2 ** 31 - 1], failedLoginThreshold: [1, 1_000_000], failedLoginWindowMinutes: [1, 10_080],
    }),
    exportRateLimit: resolveNumberGroup('exportRateLimit', opts.exportRateLimit, { windowMs: 60_000, max: 10 }, { windowMs: [1000, 86_400_000], max: [1, 100_000] }),
    getUserId: opts.getUserId,
    getTenantId: opts.getTenantId,
    tenants,
    rowLevelSecurity,
    classify: opts.classify,
    routeActivityTypes,
    loginPaths: pathSet('loginPaths', opts.loginPaths, DEFAULT_LOGIN_PATHS),
    logoutPaths: pathSet('logoutPaths', opts.logoutPaths, DEFAULT_LOGOUT_PATHS),
    tokenRefreshPaths: pathSet('tokenRefreshPaths', opts.tokenRefreshPaths, DEFAULT_TOKEN_REFRESH_PATHS),
    skip: opts.skip,
    sensitiveKeys: stringList('sensitiveKeys', opts.sensitiveKeys, []),
    limits,
    headers: stringList('headers', opts.headers, DEFAULT_CAPTURED_HEADERS).map((h) => h.toLowerCase()),
    geo,
    sessionCookie,
    sessionSecret,
    dataDir: dataDirOf(opts, env),
    signingKey: resolveWriterSigningKey(opts, env),
    batchSize,
    flushIntervalMs,
    maxQueueSize,
    journal: resolveJournal(opts, env),
    retry,
    writeTimeoutMs,
    closeTimeoutMs,
    handleSignals,
    risk: resolveRisk(opts.risk),
    alerts: resolveAlerts(opts.alerts),
    logger,
  };
}

export const DEFAULT_RISK_WEIGHTS: Readonly<Record<RiskFactor, number>> = {
  failed_authentication: 0.4,
  authorization_failure: 0.3,
  privileged_action: 0.2,
  export_or_bulk_read: 0.2,
  new_device: 0.2,
  new_country: 0.3,
  outside_working_hours: 0.1,
  burst_rate: 0.3,
};
export const DEFAULT_SEVERITY_THRESHOLDS = { low: 0.2, medium: 0.4, high: 0.6, critical: 0.8 } as const;
export const DEFAULT_WORKING_HOURS = { start: 8, end: 18, days: [1, 2, 3, 4, 5], timeZone: 'UTC' } as const;

function resolveRisk(value: Options['risk']): ResolvedRisk | false {
  if (value === false) return false;
  if (value !== undefined && !isPlainObject(value)) throw invalid('risk', value, 'pass false, or an object such as { weights: { new_country: 0.5 } }');
  const given: RiskOptions = value ?? {};
  const keys = ['weights', 'severityThresholds', 'anomalyThreshold', 'workingHours', 'burstWindowSeconds', 'burstThreshold', 'bulkReadBytes', 'privilegedRoles'];
  for (const key of Object.keys(given)) if (!keys.includes(key)) throw unknownOption(`risk.${key}`, keys.map((k) => `risk.${k}`));
  const weights = fractionGroup('risk.weights', given.weights, DEFAULT_RISK_WEIGHTS);
  const severityThresholds = fractionGroup('risk.severityThresholds', given.severityThresholds, DEFAULT_SEVERITY_THRESHOLDS);
  const order = ['low', 'medium', 'high', 'critical'] as const;
  for (let i = 1; i < order.length; i++) {
    const [lower, higher] = [order[i - 1]!, order[i]!];
    if (severityThresholds[higher] < severityThresholds[lower]) {
      throw invalid(`risk.severityThresholds.${higher}`, severityThresholds[higher], `use at least risk.severityThresholds.${lower} (${severityThresholds[lower]}): thresholds rise from low to critical`);
    }
  }
  const anomalyThreshold = given.anomalyThreshold ?? 0.7;
  checkFraction('risk.anomalyThreshold', anomalyThreshold);
  const burstWindowSeconds = given.burstWindowSeconds ?? 60;
  checkInteger('risk.burstWindowSeconds', burstWindowSeconds, 1, 86_400);
  const burstThreshold = given.burstThreshold ?? 100;
  checkInteger('risk.burstThreshold', burstThreshold, 1, 10_000);
  const bulkReadBytes = given.bulkReadBytes ?? 10 * 1024 * 1024;
  checkInteger('risk.bulkReadBytes', bulkReadBytes, 1, 2 ** 31 - 1);
  return {
    weights,
    severityThresholds,
    anomalyThreshold,
    workingHours: resolveWorkingHours(given.workingHours),
    burstWindowSeconds,
    burstThreshold,
    bulkReadBytes,
    privilegedRoles: stringList('risk.privilegedRoles', given.privilegedRoles, ['admin', 'system_admin']),
  };
}

function resolveWorkingHours(value: unknown): ResolvedRisk['workingHours'] {
  if (value === false) return false;
  if (value !== undefined && !isPlainObject(value)) throw invalid('risk.workingHours', value, "pass false, or an object such as { start: 8, end: 18, days: [1, 2, 3, 4, 5], timeZone: 'Europe/Berlin' }");
  const given = (value ?? {}) as Record<string, unknown>;
  const keys = ['start', 'end', 'days', 'timeZone'];
  for (const key of Object.keys(given)) if (!keys.includes(key)) throw unknownOption(`risk.workingHours.${key}`, keys.map((k) => `risk.workingHours.${k}`));
  const start = given['start'] ?? DEFAULT_WORKING_HOURS.start;
  checkInteger('risk.workingHours.start', start, 0, 23);
  const end = given['end'] ?? DEFAULT_WORKING_HOURS.end;
  checkInteger('risk.workingHours.end', end, 1, 24);
  if ((end as number) <= (start as number)) throw invalid('risk.workingHours.end', end, `use an hour after risk.workingHours.start (${String(start)}), up to 24`);
  const days = given['days'] ?? [...DEFAULT_WORKING_HOURS.days];
  if (!Array.isArray(days) || days.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > 7)) {
    throw invalid('risk.workingHours.days', days, 'pass ISO weekdays, 1 (Monday) to 7 (Sunday), such as [1, 2, 3, 4, 5]');
  }
  if (days.length === 0) throw invalid('risk.workingHours.days', days, 'name at least one working day, or pass workingHours: false to turn the factor off');
  const timeZone = given['timeZone'] ?? DEFAULT_WORKING_HOURS.timeZone;
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

function fractionGroup<T extends Record<string, number>>(name: string, value: unknown, defaults: Readonly<T>): T {
  const result = { ...defaults } as T;
  if (value === undefined) return result;
  if (!isPlainObject(value)) throw invalid(name, value, `pass an object such as ${JSON.stringify(defaults).slice(0, 60)}…`);
  for (const [key, v] of Object.entries(value)) {
    if (!(key in defaults)) throw unknownOption(`${name}.${key}`, Object.keys(defaults).map((k) => `${name}.${k}`));
    checkFraction(`${name}.${key}`, v);
    (result as Record<string, number>)[key] = v as number;
  }
  return result;
}

function checkFraction(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) throw invalid(name, value, 'use a number from 0 to 1');
}

function resolveAlerts(value: Options['alerts']): ResolvedAlerts | false {
  if (value === false) return false;
  if (value !== undefined && !isPlainObject(value)) throw invalid('alerts', value, 'pass false, or an object such as { rules: { failed_logins_per_ip: { threshold: 10 } } }');
  const given = value ?? {};
  const keys = ['intervalSeconds', 'lookbackMinutes', 'webhook', 'rules'];
  for (const key of Object.keys(given)) if (!keys.includes(key)) throw unknownOption(`alerts.${key}`, keys.map((k) => `alerts.${k}`));
  const intervalSeconds = given.intervalSeconds ?? DEFAULT_ALERT_INTERVAL_SECONDS;
  checkInteger('alerts.intervalSeconds', intervalSeconds, 1, 86_400);
  const lookbackMinutes = given.lookbackMinutes ?? DEFAULT_ALERT_LOOKBACK_MINUTES;
  checkInteger('alerts.lookbackMinutes', lookbackMinutes, 1, 10_080);
  const rulesGiven = given.rules ?? {};
  if (!isPlainObject(rulesGiven)) throw invalid('alerts.rules', rulesGiven, 'pass an object keyed by rule name, such as { scanning_404: { threshold: 50 } }');
  const ruleNames = Object.keys(DEFAULT_ALERT_RULES) as Array<keyof typeof DEFAULT_ALERT_RULES>;
  for (const key of Object.keys(rulesGiven)) if (!(ruleNames as string[]).includes(key)) throw unknownOption(`alerts.rules.${key}`, ruleNames.map((k) => `alerts.rules.${k}`));
  const rules: ResolvedAlerts['rules'] = {};
  for (const name of ruleNames) {
    const settings = rulesGiven[name];
    if (settings === false) continue;
    const prefix = `alerts.rules.${name}`;
    if (settings !== undefined && !isPlainObject(settings)) throw invalid(prefix, settings, `pass false, or an object such as { windowMinutes: ${DEFAULT_ALERT_RULES[name].windowMinutes} }`);
    const s = (settings ?? {}) as Record<string, unknown>;
    const allowed = ['enabled', 'windowMinutes', 'severity', ...RULE_SETTING_KEYS[name]];
    for (const key of Object.keys(s)) if (!allowed.includes(key)) throw unknownOption(`${prefix}.${key}`, allowed.map((k) => `${prefix}.${k}`));
    const enabled = s['enabled'] ?? true;
    checkBoolean(`${prefix}.enabled`, enabled);
    if (!enabled) continue;
    const defaults = DEFAULT_ALERT_RULES[name];
    const rule: ResolvedAlertRule = { minRequests: 50, speedKmh: 900, groupBy: 'global', ...defaults };
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
      rule.severity = s['severity'] as ResolvedAlertRule['severity'];
    }
    if (s['minRequests'] !== undefined) { checkInteger(`${prefix}.minRequests`, s['minRequests'], 1, 1_000_000); rule.minRequests = s['minRequests'] as number; }
    if (s['speedKmh'] !== undefined) { checkInteger(`${prefix}.speedKmh`, s['speedKmh'], 1, 100_000); rule.speedKmh = s['speedKmh'] as number; }
    if (s['groupBy'] !== undefined) {
      if (s['groupBy'] !== 'global' && s['groupBy'] !== 'tenant') throw invalid(`${prefix}.groupBy`, s['groupBy'], "use 'global' (one key for all rows) or 'tenant' (one key per tenant)");
      rule.groupBy = s['groupBy'];
    }
    rules[name] = rule;
  }
  return { intervalMs: (intervalSeconds as number) * 1000, lookbackMinutes: lookbackMinutes as number, webhook: resolveWebhook(given.webhook), rules };
}

function resolveWebhook(value: unknown): ResolvedWebhook | null {
  if (value === undefined) return null;
  if (!isPlainObject(value)) throw invalid('alerts.webhook', value, "pass an object such as { url: 'https://hooks.example.com/activity', secret: '<random, 32+ characters>' }");
  const keys = ['url', 'secret', 'maxAttempts', 'retryDelayMs', 'timeoutMs'];
  for (const key of Object.keys(value)) if (!keys.includes(key)) throw unknownOption(`alerts.webhook.${key}`, keys.map((k) => `alerts.webhook.${k}`));
  const { url, secret } = value;
  let parsed: URL | null = null;
  try { parsed = typeof url === 'string' ? new URL(url) : null; } catch { parsed = null; }
  if (parsed === null || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw invalid('alerts.webhook.url', typeof url === 'string' ? redactUrl(url) : url, 'use an http:// or https:// URL');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw invalid('alerts.webhook.url', redactUrl(url as string), 'leave credentials out of the URL: the receiver authenticates deliveries by their X-Activity-Signature, made with alerts.webhook.secret');
  }
  if (typeof secret !== 'string' || secret.length < 16) throw invalid('alerts.webhook.secret', HIDDEN, 'use a random secret of at least 16 characters (32 or more recommended); the receiver checks X-Activity-Signature with it');
  const webhook: ResolvedWebhook = { url: parsed.toString(), secret, ...DEFAULT_WEBHOOK };
  const ranges = { maxAttempts: [1, 20], retryDelayMs: [1, 3_600_000], timeoutMs: [100, 300_000] } as const;
  for (const key of ['maxAttempts', 'retryDelayMs', 'timeoutMs'] as const) {
    if (value[key] === undefined) continue;
    checkInteger(`alerts.webhook.${key}`, value[key], ranges[key][0], ranges[key][1]);
    webhook[key] = value[key] as number;
  }
  return webhook;
}

export const DEFAULT_SUSPICIOUS_THRESHOLDS: SuspiciousThresholds = {
  slowRequestMs: 5000,
  largeResponseBytes: 10 * 1024 * 1024,
  failedLoginThreshold: 5,
  failedLoginWindowMinutes: 15,
};

function resolveReportAuth(opts: Options): Pick<ResolvedConfig, 'jwtPublicKey' | 'jwtAlgorithm' | 'jwtIssuer' | 'jwtAudience' | 'jwtClockToleranceSeconds'> {
  const { jwtPublicKey, jwtAlgorithm, jwtIssuer, jwtAudience } = opts;
  if (jwtPublicKey !== undefined && (typeof jwtPublicKey !== 'string' || !jwtPublicKey.includes('-----BEGIN'))) {
    throw invalid('jwtPublicKey', typeof jwtPublicKey === 'string' ? `${jwtPublicKey.slice(0, 20)}…` : jwtPublicKey, 'pass the PEM text of the public key, starting with -----BEGIN PUBLIC KEY-----');
  }
  if (jwtAlgorithm !== undefined && jwtAlgorithm !== 'RS256' && jwtAlgorithm !== 'ES256') {
    throw invalid('jwtAlgorithm', jwtAlgorithm, "use 'RS256' or 'ES256' (HS256 is what jwtSecret uses)");
  }
  if ((jwtPublicKey === undefined) !== (jwtAlgorithm === undefined)) {
    throw invalid(jwtPublicKey === undefined ? 'jwtAlgorithm' : 'jwtPublicKey', jwtPublicKey === undefined ? jwtAlgorithm : 'a key',
      'give jwtPublicKey and jwtAlgorithm together: the algorithm is pinned, never read from the token');
  }
  for (const [name, value] of [['jwtIssuer', jwtIssuer], ['jwtAudience', jwtAudience]] as const) {
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw invalid(name, value, 'pass a non-empty string or leave it out');
  }
  const jwtClockToleranceSeconds = opts.jwtClockToleranceSeconds ?? 5;
  checkInteger('jwtClockToleranceSeconds', jwtClockToleranceSeconds, 0, 300);
  return { jwtPublicKey, jwtAlgorithm, jwtIssuer, jwtAudience, jwtClockToleranceSeconds };
}

function resolveNumberGroup<T extends { [K in keyof T]: number }>(name: string, value: Partial<T> | undefined, defaults: T, ranges: { [K in keyof T]: [number, number] }): T {
  if (value === undefined) return { ...defaults };
  if (!isPlainObject(value)) throw invalid(name, value, `pass an object such as ${JSON.stringify(defaults)}`);
  const result: T = { ...defaults };
  for (const [key, v] of Object.entries(value as object)) {
    const range = ranges[key as keyof T];
    if (!range) throw unknownOption(`${name}.${key}`, Object.keys(defaults as object).map((k) => `${name}.${k}`));
    checkInteger(`${name}.${key}`, v, range[0], range[1]);
    result[key as keyof T] = v as T[keyof T];
  }
  return result;
}

/** Route keys compare as `METHOD /path` with the method upper-cased and no trailing slash. */
export function normalizeRouteKey(key: string): string {
  const match = /^\s*(?:([A-Za-z]+)\s+)?(\S+)\s*$/.exec(key);
  if (!match) throw invalid('routeActivityTypes', key, "write keys as 'METHOD /path' or '/path'");
  const path = trimSlash(match[2] ?? '');
  return match[1] ? `${match[1].toUpperCase()} ${path}` : path;
}

/** The key the session cookie is signed with comes from it; without one, a key kept under dataDir. */
function resolveSessionSecret(opts: Options, env: NodeJS.ProcessEnv): string | undefined {
  const fromOption = opts.sessionSecret !== undefined;
  const secret: unknown = fromOption ? opts.sessionSecret : (env['ACTIVITY_SESSION_SECRET'] || undefined);
  if (secret === undefined) return undefined;
  const name = fromOption ? 'sessionSecret' : 'ACTIVITY_SESSION_SECRET';
  if (typeof secret !== 'string') throw invalid(name, HIDDEN, `it is ${secret === null ? 'null' : `a ${typeof secret}`}; pass a string of at least 16 random characters, e.g. from \`openssl rand -base64 32\`, or leave it out to keep a generated key under dataDir`);
  if (secret.length < 16) throw invalid(name, HIDDEN, `it has ${secret.length} characters; use at least 16 random characters (32 or more recommended), e.g. from \`openssl rand -base64 32\``);
  return secret;
}

function dataDirOf(opts: Options, env: NodeJS.ProcessEnv): string {
  const dataDir = opts.dataDir ?? (env['ACTIVITY_DATA_DIR'] || './.activity-data');
  if (typeof dataDir !== 'string' || dataDir.trim() === '') throw invalid('dataDir', dataDir, 'pass a folder path');
  return dataDir;
}

function resolveJournal(opts: Options, env: NodeJS.ProcessEnv): ResolvedConfig['journal'] {
  const { journal } = opts;
  if (journal === false) return false;
  if (journal !== undefined && !isPlainObject(journal)) throw invalid('journal', journal, "pass false, or an object such as { dir: './.activity-data/journal', mode: 'spill' }");
  const given = journal ?? {};
  for (const key of Object.keys(given)) if (!['dir', 'mode', 'maxBytes'].includes(key)) throw unknownOption(`journal.${key}`, ['journal.dir', 'journal.mode', 'journal.maxBytes']);
  const dir = given.dir ?? path.join(dataDirOf(opts, env), 'journal');
  if (typeof dir !== 'string' || dir.trim() === '') throw invalid('journal.dir', dir, 'pass a folder path the process can write');
  const mode = given.mode ?? 'spill';
  if (mode !== 'spill' && mode !== 'write-ahead') throw invalid('journal.mode', mode, "use 'spill' or 'write-ahead'");
  const maxBytes = given.maxBytes ?? null;
  if (maxBytes !== null) checkInteger('journal.maxBytes', maxBytes, 1024 * 1024, Number.MAX_SAFE_INTEGER);
  return { dir: path.resolve(dir), mode, maxBytes };
}

function resolveDatabase(opts: Options, env: NodeJS.ProcessEnv): ResolvedConfig['database'] {
  const { database } = opts;
  if (database !== undefined && typeof database !== 'string') {
    if (typeof database === 'function' && typeof (database as Knex).raw === 'function') return { kind: 'knex', knex: database };
    throw invalid('database', database, 'pass a postgres:// connection string or a knex instance');
  }
  const url = database ?? (env['DATABASE_URL'] || undefined);
  if (url !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw invalid(opts.database !== undefined ? 'database' : 'DATABASE_URL', redactUrl(url),
        'use a connection string such as postgres://user:password@host:5432/dbname, or unset it for the embedded database');
    }
    return { kind: 'postgres', url };
  }
  return { kind: 'embedded', dataDir: dataDirOf(opts, env) };
}

function resolveSessionCookie(value: Options['sessionCookie']): ResolvedConfig['sessionCookie'] {
  if (value === false) return false;
  if (value === undefined) return { name: 'activity_sid' };
  if (!isPlainObject(value)) throw invalid('sessionCookie', value, "pass false or { name: 'activity_sid' }");
  for (const key of Object.keys(value)) if (key !== 'name') throw unknownOption(`sessionCookie.${key}`, ['sessionCookie.name']);
  const name = value.name ?? 'activity_sid';
  if (typeof name !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    throw invalid('sessionCookie.name', name, 'use a cookie name made of letters, digits, - and _');
  }
  return { name };
}

function rejectUnknownKeys(opts: Options): void {
  for (const key of Object.keys(opts)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) throw unknownOption(key, OPTION_KEYS);
  }
}

function unknownOption(key: string, known: readonly string[]): ActivityTrackingError {
  const guess = closest(key, known);
  return new ActivityTrackingError('ERR_AT_UNKNOWN_OPTION',
    `Unknown option "${key}". ${guess ? `Did you mean "${guess}"? ` : ''}Known options: ${known.join(', ')}.`);
}

/** The option, else ACTIVITY_SIGNING_KEY; a key that cannot sign (an Ed25519 public key) is refused. */
function resolveWriterSigningKey(opts: Options, env: NodeJS.ProcessEnv): BatchSigningKey | null {
  const name = opts.signingKey !== undefined ? 'signingKey' : SIGNING_KEY_ENV;
  const value = opts.signingKey ?? (env[SIGNING_KEY_ENV] || undefined);
  if (value === undefined) return null;
  try {
    return writerKey(resolveSigningKey(value, name), name);
  } catch (error) {
    const reason = messageOf(error, { withoutCode: true });
    throw new ActivityTrackingError('ERR_AT_INVALID_OPTION', `Invalid ${name}: ${describe(HIDDEN)}. ${reason}.`);
  }
}

export function invalid(name: string, value: unknown, fix: string): ActivityTrackingError {
  return new ActivityTrackingError('ERR_AT_INVALID_OPTION', `Invalid ${name}: ${describe(value)}. Fix: ${fix}.`);
}

/** Stands for a secret in messages, so that a misconfigured secret is never printed. */
const HIDDEN = Symbol('hidden');

function describe(value: unknown): string {
  if (value === HIDDEN) return '[hidden]';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  try { return JSON.stringify(value).slice(0, 80); } catch { return 'an object'; }
}

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, value, `use a whole number from ${min} to ${max}`);
  }
}

function checkBoolean(name: string, value: unknown): void {
  if (typeof value !== 'boolean') throw invalid(name, value, 'use true or false');
}

function envInteger(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) {
    throw new ActivityTrackingError('ERR_AT_INVALID_ENV',
      `Invalid environment variable ${name}=${JSON.stringify(raw)}. Fix: set it to a whole number of at least ${min}, or unset it for the default ${fallback}.`);
  }
  return Number(raw);
}

function envBoolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ActivityTrackingError('ERR_AT_INVALID_ENV',
    `Invalid environment variable ${name}=${JSON.stringify(env[name])}. Fix: set it to true or false, or unset it for the default ${fallback}.`);
}

function pathSet(name: string, value: unknown, fallback: readonly string[]): ReadonlySet<string> {
  const list = stringList(name, value, fallback);
  for (const path of list) if (!path.startsWith('/')) throw invalid(name, path, 'write paths starting with /, such as /auth/login');
  return new Set(list.map((p) => trimSlash(p.toLowerCase())));
}

function stringList(name: string, value: unknown, fallback: readonly string[]): string[] {
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
    throw invalid(name, value, 'pass an array of non-empty strings');
  }
  return [...(value as string[])];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLogger(value: unknown): value is Logger {
  return typeof value === 'object' && value !== null
    && ['debug', 'info', 'warn', 'error'].every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}

function redactUrl(url: string): string {
  // Anchored, so a value of any shape is read once (regexSafety.test.ts).
  return url.replace(/^([^/@]*\/\/[^:/@]+):[^@]*@/, '$1:[hidden]@');
}

function closest(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === key.toLowerCase() ? 0 : levenshtein(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) { best = candidate; bestDistance = distance; }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
