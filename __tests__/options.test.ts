import path from 'node:path';
import request from 'supertest';
import express from 'express';
import { resolveConfig } from '../lib/config';
import { activityTracking, activityTrackingRouter, closeDefaultTracker, createActivityTracker } from '../lib/index';

describe('options are checked at start-up', () => {
  it('names an unknown option and suggests the one meant', () => {
    expect(() => resolveConfig({ sesionTimeoutMinutes: 5 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_AT_UNKNOWN_OPTION', message: expect.stringContaining('Unknown option "sesionTimeoutMinutes". Did you mean "sessionTimeoutMinutes"?') }),
    );
    expect(() => resolveConfig({ limits: { maxDepht: 3 } } as never)).toThrow(/Unknown option "limits.maxDepht". Did you mean "limits.maxDepth"\?/);
    expect(() => resolveConfig({ suspicious: { slowRequest: 3 } } as never)).toThrow(/Unknown option "suspicious.slowRequest". Did you mean "suspicious.slowRequestMs"\?/);
    // Names every object answers for are no settings either.
    expect(() => resolveConfig({ limits: { toString: 3 } } as never)).toThrow(/Unknown option "limits.toString"/);
    expect(() => resolveConfig({ suspicious: { constructor: 3 } } as never)).toThrow(/Unknown option "suspicious.constructor"/);
    expect(() => resolveConfig({ risk: { weights: { hasOwnProperty: 0.5 } } } as never)).toThrow(/Unknown option "risk.weights.hasOwnProperty"/);
    expect(() => resolveConfig({ alerts: { rules: { scaning_404: {} } } } as never)).toThrow(/Unknown option "alerts.rules.scaning_404". Did you mean "alerts.rules.scanning_404"\?/);
    expect(() => resolveConfig({ alerts: { rules: { mass_export: { speedKmh: 10 } } } } as never)).toThrow(/Unknown option "alerts.rules.mass_export.speedKmh"\..*Known options: alerts.rules.mass_export.enabled, alerts.rules.mass_export.windowMinutes, alerts.rules.mass_export.severity, alerts.rules.mass_export.threshold\./);
  });

  it.each([
    [{ batchSize: 0 }, 'Invalid batchSize: 0. Fix: use a whole number from 1 to 2000.'],
    [{ batchSize: 2.5 }, 'Invalid batchSize: 2.5.'],
    [{ retentionDays: -1 }, 'Invalid retentionDays: -1.'],
    [{ geo: 'yes' }, 'Invalid geo: "yes". Fix: use true or false.'],
    [{ database: 'mysql://x' }, 'Invalid database: "mysql://x". Fix: use a connection string such as postgres://'],
    [{ routeActivityTypes: { 'POST /x': 'approve' } }, "Invalid routeActivityTypes['POST /x']: \"approve\". Fix: use one of login, logout"],
    [{ loginPaths: ['login'] }, 'Invalid loginPaths: "login". Fix: write paths starting with /'],
    [{ getUserId: 'req.user.id' }, 'Invalid getUserId: "req.user.id". Fix: pass a function'],
    [{ jwtSecret: 'short' }, 'Invalid jwtSecret: [hidden]. Fix: use a random secret of at least 16 characters'],
    [{ sessionCookie: { name: 'bad name' } }, 'Invalid sessionCookie.name: "bad name".'],
    [{ logger: console.log }, 'Invalid logger: a function. Fix: pass an object with debug, info, warn and error functions.'],
    [{ jwtPublicKey: 'ssh-rsa AAAA' }, 'Invalid jwtPublicKey: "ssh-rsa AAAA…". Fix: pass the PEM text of the public key'],
    [{ jwtPublicKey: '-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----' }, 'Invalid jwtPublicKey: "a key". Fix: give jwtPublicKey and jwtAlgorithm together'],
    [{ jwtAlgorithm: 'none' }, 'Invalid jwtAlgorithm: "none". Fix: use \'RS256\' or \'ES256\''],
    [{ jwtAudience: '' }, 'Invalid jwtAudience: "". Fix: pass a non-empty string'],
    [{ jwtClockToleranceSeconds: 3600 }, 'Invalid jwtClockToleranceSeconds: 3600. Fix: use a whole number from 0 to 300.'],
    [{ authorize: true }, 'Invalid authorize: true. Fix: pass a function'],
    [{ suspicious: { slowRequestMs: 0 } }, 'Invalid suspicious.slowRequestMs: 0.'],
    [{ exportRateLimit: { max: 0 } }, 'Invalid exportRateLimit.max: 0.'],
    [{ journal: true }, "Invalid journal: true. Fix: pass false, or an object such as { dir: './.activity-data/journal', mode: 'spill' }."],
    [{ journal: { mode: 'sometimes' } }, "Invalid journal.mode: \"sometimes\". Fix: use 'spill' or 'write-ahead'."],
    [{ journal: { dir: '' } }, 'Invalid journal.dir: "". Fix: pass a folder path the process can write.'],
    [{ retry: { initialDelayMs: 500, maxDelayMs: 100 } }, 'Invalid retry.maxDelayMs: 100. Fix: use at least retry.initialDelayMs (500).'],
    [{ closeTimeoutMs: -1 }, 'Invalid closeTimeoutMs: -1. Fix: use a whole number from 0 to 3600000.'],
    [{ writeTimeoutMs: 10 }, 'Invalid writeTimeoutMs: 10. Fix: use a whole number from 100 to 3600000.'],
    [{ handleSignals: 'yes' }, 'Invalid handleSignals: "yes". Fix: use true or false.'],
    [{ journal: { maxBytes: 1000 } }, 'Invalid journal.maxBytes: 1000. Fix: use a whole number from 1048576 to'],
    [{ alerts: true }, 'Invalid alerts: true. Fix: pass false, or an object such as { rules: { failed_logins_per_ip: { threshold: 10 } } }.'],
    [{ alerts: { intervalSeconds: 0 } }, 'Invalid alerts.intervalSeconds: 0. Fix: use a whole number from 1 to 86400.'],
    [{ alerts: { rules: { error_rate: { threshold: 20 } } } }, 'Invalid alerts.rules.error_rate.threshold: 20. Fix: use the share of 5xx responses above which it fires, a number from 0 up to (not including) 1, such as 0.2.'],
    [{ alerts: { rules: { scanning_404: { threshold: 0 } } } }, 'Invalid alerts.rules.scanning_404.threshold: 0. Fix: use a whole number from 1 to 1000000.'],
    [{ partitionInterval: 'year' }, 'Invalid partitionInterval: "year". Fix: use one of day, week, month.'],
    [{ partitionsAhead: 0 }, 'Invalid partitionsAhead: 0. Fix: use a whole number from 1 to 366.'],
    [{ retention: { archive: 5 } }, 'Invalid retention.archive: 5. Fix: pass true (the folder <dataDir>/archive), a folder path, or an object with put(name, body) and get(name) (an ArchiveSink).'],
    [{ alerts: { rules: { mass_export: { severity: 'urgent' } } } }, 'Invalid alerts.rules.mass_export.severity: "urgent". Fix: use one of info, low, medium, high, critical.'],
    [{ alerts: { rules: { critical_events: { groupBy: 'user' } } } }, "Invalid alerts.rules.critical_events.groupBy: \"user\". Fix: use 'global' (one key for all rows) or 'tenant' (one key per tenant)."],
    [{ alerts: { webhook: { url: 'ftp://hooks.example.com/x', secret: 'a-secret-of-enough-length' } } }, 'Invalid alerts.webhook.url: "ftp://hooks.example.com/x". Fix: use an http:// or https:// URL.'],
    [{ alerts: { webhook: { url: 'https://bob:pw@hooks.example.com/x', secret: 'a-secret-of-enough-length' } } }, 'Invalid alerts.webhook.url: "https://bob:[hidden]@hooks.example.com/x". Fix: leave credentials out of the URL'],
    [{ alerts: { webhook: { url: 'https://hooks.example.com/x', secret: 'short' } } }, 'Invalid alerts.webhook.secret: [hidden]. Fix: use a random secret of at least 16 characters'],
    [{ alerts: { webhook: { url: 'https://hooks.example.com/x', secret: 'a-secret-of-enough-length', maxAttempts: 0 } } }, 'Invalid alerts.webhook.maxAttempts: 0. Fix: use a whole number from 1 to 20.'],
  ])('rejects %j', (options, message) => {
    expect(() => resolveConfig(options as never, {})).toThrow(expect.objectContaining({ code: 'ERR_AT_INVALID_OPTION', message: expect.stringContaining(message) }));
  });

  it('reads the environment, and names a bad variable, its value and the fix', () => {
    const config = resolveConfig({}, { SESSION_TIMEOUT: '15', ACTIVITY_LOG_RETENTION_DAYS: '365', ENABLE_DETAILED_TRACKING: 'false', ACTIVITY_DATA_DIR: '/tmp/x', ACTIVITY_JWT_SECRET: 'a-secret-of-enough-length' });
    expect(config).toMatchObject({ sessionTimeoutMinutes: 15, retentionDays: 365, detailedTracking: false, database: { kind: 'embedded', dataDir: '/tmp/x' }, jwtSecret: 'a-secret-of-enough-length' });
    expect(resolveConfig({}, { DATABASE_URL: 'postgres://u@h/db' }).database).toEqual({ kind: 'postgres', url: 'postgres://u@h/db' });
    expect(resolveConfig({ sessionTimeoutMinutes: 5 }, { SESSION_TIMEOUT: '15' }).sessionTimeoutMinutes).toBe(5);
    expect(() => resolveConfig({}, { SESSION_TIMEOUT: 'soon' })).toThrow(
      expect.objectContaining({ code: 'ERR_AT_INVALID_ENV', message: expect.stringContaining('Invalid environment variable SESSION_TIMEOUT="soon". Fix: set it to a whole number of at least 1, or unset it for the default 30.') }),
    );
    expect(() => resolveConfig({}, { ENABLE_DETAILED_TRACKING: 'maybe' })).toThrow(/ENABLE_DETAILED_TRACKING="maybe". Fix: set it to true or false/);
    expect(() => resolveConfig({}, { DATABASE_URL: 'mysql://root:hunter2@db/x' })).toThrow(/Invalid DATABASE_URL: "mysql:\/\/root:\[hidden\]@db\/x"/);
  });

  it('states the documented defaults', () => {
    const config = resolveConfig({}, {});
    expect(config).toMatchObject({
      database: { kind: 'embedded', dataDir: './.activity-data' }, autoMigrate: false, sessionTimeoutMinutes: 30, retentionDays: 90,
      detailedTracking: true, jwtSecret: undefined, geo: true, sessionCookie: { name: 'activity_sid' }, batchSize: 500,
      flushIntervalMs: 250, maxQueueSize: 10_000, limits: { maxDepth: 6, maxKeys: 100, maxStringLength: 1024, maxTotalBytes: 16384 },
      jwtPublicKey: undefined, jwtClockToleranceSeconds: 5, authorize: undefined,
      suspicious: { slowRequestMs: 5000, largeResponseBytes: 10_485_760, failedLoginThreshold: 5, failedLoginWindowMinutes: 15 },
      exportRateLimit: { windowMs: 60_000, max: 10 },
      journal: { dir: path.resolve('.activity-data/journal'), mode: 'spill', maxBytes: null }, retry: { initialDelayMs: 100, maxDelayMs: 10_000 },
      writeTimeoutMs: 30_000, closeTimeoutMs: 10_000, handleSignals: false,
      risk: {
        weights: {
          failed_authentication: 0.4, authorization_failure: 0.3, privileged_action: 0.2, export_or_bulk_read: 0.2,
          new_device: 0.2, new_country: 0.3, outside_working_hours: 0.1, burst_rate: 0.3,
        },
        severityThresholds: { low: 0.2, medium: 0.4, high: 0.6, critical: 0.8 }, anomalyThreshold: 0.7,
        workingHours: { start: 8, end: 18, days: [1, 2, 3, 4, 5], timeZone: 'UTC' },
        burstWindowSeconds: 60, burstThreshold: 100, bulkReadBytes: 10_485_760, privilegedRoles: ['admin', 'system_admin'],
      },
    });
    expect(resolveConfig({}, { ACTIVITY_DATA_DIR: '/srv/activity' }).journal).toEqual({ dir: '/srv/activity/journal', mode: 'spill', maxBytes: null });
    expect(resolveConfig({ journal: false }, {}).journal).toBe(false);
    const rule = (threshold: number, windowMinutes: number, severity: string, more: object = {}): object => ({ threshold, windowMinutes, severity, minRequests: 50, speedKmh: 900, groupBy: 'global', ...more });
    expect(resolveConfig({}, {}).alerts).toEqual({
      intervalMs: 30_000, lookbackMinutes: 60, webhook: null,
      rules: {
        failed_logins_per_ip: rule(5, 15, 'high'), failed_logins_per_account: rule(5, 15, 'high'), ip_many_accounts: rule(3, 15, 'high'),
        auth_failure_burst: rule(20, 5, 'medium'), scanning_404: rule(30, 5, 'medium'), impossible_travel: rule(1, 60, 'high'),
        mass_export: rule(10, 10, 'high'), error_rate: rule(0.2, 5, 'high'), critical_events: rule(5, 15, 'critical'), token_abuse: rule(3, 15, 'high'),
      },
    });
    expect(resolveConfig({ alerts: { webhook: { url: 'https://hooks.example.com/activity', secret: 'a-secret-of-enough-length' } } }, {}).alerts).toMatchObject({
      webhook: { url: 'https://hooks.example.com/activity', secret: 'a-secret-of-enough-length', maxAttempts: 5, retryDelayMs: 1000, timeoutMs: 10_000 },
    });
    expect(resolveConfig({ alerts: false }, {}).alerts).toBe(false);
    expect(() => resolveConfig({ journal: { dri: '/x' } } as never, {})).toThrow(/Unknown option "journal.dri". Did you mean "journal.dir"\?/);
  });

  it('createActivityTracker fails at once on bad options', () => {
    expect(() => createActivityTracker({ batchsize: 10 } as never)).toThrow(/Did you mean "batchSize"\?/);
  });
});

describe('the one-line forms', () => {
  afterEach(async () => { await closeDefaultTracker(); });

  it('explain app.use(activityTracking) written without the call', async () => {
    const app = express();
    app.use(activityTracking as never);
    app.get('/', (_req, res) => { res.send('ok'); });
    app.use((err: Error & { code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ code: err.code, message: err.message });
    });
    const response = await request(app).get('/');
    expect(response.status).toBe(500);
    expect(response.body).toEqual({
      code: 'ERR_AT_CALLED_WITHOUT_OPTIONS',
      message: 'It looks like you wrote app.use(activityTracking); write app.use(activityTracking()) instead: activityTracking is a factory that returns the middleware (ERR_AT_CALLED_WITHOUT_OPTIONS)',
    });
  });

  it('share one tracker, and refuse conflicting options', () => {
    const options = { database: 'postgres://nobody@127.0.0.1:1/none', jwtSecret: 'a-report-secret-of-32-characters!', logger: { debug() {}, info() {}, warn() {}, error() {} } };
    activityTracking(options);
    expect(() => activityTrackingRouter(options)).not.toThrow();
    expect(() => activityTrackingRouter({ geo: false })).toThrow(expect.objectContaining({ code: 'ERR_AT_DEFAULT_TRACKER_CONFLICT' }));
  });

  it('refuse to build the report router without a way to authenticate callers', () => {
    expect(() => activityTrackingRouter({ database: 'postgres://nobody@127.0.0.1:1/none', logger: { debug() {}, info() {}, warn() {}, error() {} } }))
      .toThrow(expect.objectContaining({ code: 'ERR_AT_REPORT_AUTH_MISSING', message: expect.stringContaining('ACTIVITY_JWT_SECRET') }));
  });
});
