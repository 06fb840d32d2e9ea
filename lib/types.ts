import type { Knex } from 'knex';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import type { ActivityRowFields } from './store/columns';

/** The product's vocabulary of what happened. */
export const ACTIVITY_TYPES = [
  'login',
  'logout',
  'login_failed',
  'token_refresh',
  'page_view',
  'data_create',
  'data_update',
  'data_delete',
  'data_view',
  'file_upload',
  'file_download',
  'error',
  'system_action',
  'session_start',
  'session_end',
  'authz_fail',
  'audit_read',
  'audit_export',
] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];

export interface DeviceInfo {
  /** `desktop`, `mobile`, `tablet`, `smarttv`, `wearable`, `console`, `embedded`, `bot`, `cli` (HTTP clients such as curl) or `unknown` */
  type: string;
  vendor: string | null;
  model: string | null;
}

export interface GeoLocation {
  country: string | null;
  region: string | null;
  city: string | null;
  timezone: string | null;
}

/**
 * One recorded row of `user_activity`, as the package builds it. Its fields, their types and their
 * documentation are those of the column registry (lib/store/columns.ts).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- an interface keeps the name in hovers and declarations
export interface ActivityEvent extends ActivityRowFields {}

export const ACTOR_TYPES = ['user', 'admin', 'agent', 'system', 'service'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
/** The factors a row's risk score is made of, in the order `risk_factors` lists them. */
export const RISK_FACTORS = [
  'failed_authentication',
  'authorization_failure',
  'privileged_action',
  'export_or_bulk_read',
  'new_device',
  'new_country',
  'outside_working_hours',
  'burst_rate',
] as const;
export type RiskFactor = (typeof RISK_FACTORS)[number];

/**
 * How rows are scored for risk, in the database as each batch is written (never on the request path).
 * A row's score is the sum of the weights of its factors, at most 1.
 */
export interface RiskOptions {
  /**
   * Weight of each factor, from 0 to 1. Defaults: `failed_authentication` 0.4, `authorization_failure` 0.3,
   * `privileged_action` 0.2, `export_or_bulk_read` 0.2, `new_device` 0.2, `new_country` 0.3,
   * `outside_working_hours` 0.1, `burst_rate` 0.3.
   */
  weights?: Partial<Record<RiskFactor, number>>;
  /**
   * Lowest score of each severity (below `low`: `info`). Defaults: `low` 0.2, `medium` 0.4, `high` 0.6, `critical` 0.8.
   * A domain event that names its own severity keeps the higher of the two.
   */
  severityThresholds?: { low?: number; medium?: number; high?: number; critical?: number };
  /** A row scoring at least this is flagged `anomaly`. Default `0.7`. */
  anomalyThreshold?: number;
  /**
   * Activity outside these hours is `outside_working_hours`: from hour `start` (default `8`) up to hour `end`
   * (default `18`, exclusive) on `days` (ISO weekdays, 1 = Monday … 7 = Sunday; default Monday to Friday),
   * in `timeZone` (an IANA name; default `'UTC'`). `false` turns the factor off.
   */
  workingHours?: { start?: number; end?: number; days?: number[]; timeZone?: string } | false;
  /** The window of `burst_rate`, in seconds. Default `60`. */
  burstWindowSeconds?: number;
  /** More than this many rows of one user within `burstWindowSeconds` (the row included) is `burst_rate`. Default `100`. */
  burstThreshold?: number;
  /** A response larger than this many bytes is an `export_or_bulk_read`. Default `10485760` (10 MB). */
  bulkReadBytes?: number;
  /** Actor roles (a domain event's `actor.role`) whose actions are `privileged_action`. Default `['admin', 'system_admin']`. */
  privilegedRoles?: string[];
}
export const EVENT_STATUSES = ['success', 'failure', 'partial', 'pending'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** One changed field of a domain event: its dotted path and the values before and after. */
export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

export interface Changes {
  before: unknown;
  after: unknown;
  diff: FieldChange[];
}

/**
 * What `tracker.record()` and `req.activity.record()` accept: an action plus whatever is known. The
 * names are those of the stored row (see `ActivityEvent`).
 */
export interface RecordInput {
  /** What happened, e.g. `certification.approved`. */
  action: string;
  /** Default `system_action`. */
  activityType?: ActivityType;
  /** Who acted. Default: the request's user (`getUserId`), when linked to one. */
  userId?: string | number | null;
  /** Default `user` when a user id is known, else `system`. */
  actorType?: ActorType;
  actorRole?: string | null;
  actorName?: string | null;
  sessionId?: string | null;
  /** The app's grouping of actions, e.g. `approval`. */
  category?: string | null;
  /** Default: none given (the row's risk decides). */
  severity?: Severity;
  /** What was acted on. */
  entityType?: string | null;
  entityId?: string | number | null;
  entityName?: string | null;
  /** The tenant the event belongs to. Default: the request's (`getTenantId`), when linked to one. */
  tenantId?: string | number | null;
  /** The tenant or party that owns the entity. */
  ownerId?: string | number | null;
  /** Default `success` (or `failure` when `success: false`). */
  status?: EventStatus;
  /** The entity before and after; stored sanitized with a field-level diff. */
  before?: unknown;
  after?: unknown;
  reason?: string | null;
  /** Anything else about the event, sanitized. */
  details?: Record<string, unknown> | null;
  /** The event reads or changes personal data. */
  personalData?: boolean;
  /** Default: true unless `status` is `failure`. */
  success?: boolean;
  ipAddress?: string | null;
  userAgent?: string | null;
  startTime?: Date;
  duration?: number | null;
  /** @deprecated Use `userId`, `actorType`, `actorRole` and `actorName`; each of these wins over its flat name. Removed in the next minor version. */
  actor?: { id?: string | number | null; type?: ActorType; role?: string | null; name?: string | null };
  /** @deprecated Use `entityType`, `entityId` and `entityName`; each of these wins over its flat name. Removed in the next minor version. */
  entity?: { type: string; id?: string | number | null; name?: string | null };
  /** @deprecated Use `details`; wins over it when both are given. Removed in the next minor version. */
  metadata?: Record<string, unknown> | null;
}

/** What the middleware lets a route say about its own request (`req.activity`). */
export interface RequestActivity {
  /** Who acted, when the route knows better than `getUserId` (the report routes set the verified caller). */
  userId?: string;
  /** The tenant the request acted in, when the route knows better than `getTenantId` (a failed login naming a known account). */
  tenantId?: string;
  /** Overrides the activity type the rules would choose. */
  activityType?: ActivityType;
  /** @deprecated Use `activityType`, which wins when both are set. Removed in the next minor version. */
  type?: ActivityType;
  entityType?: string;
  entityId?: string | number;
  action?: string;
  /** Extra details, sanitized like everything else. */
  details?: Record<string, unknown>;
  /** Records a further event linked to this request's user, session, IP and device. */
  record(event: RecordInput): Promise<void>;
}

/** Who is calling the report routes. */
export interface ReportPrincipal {
  userId: string;
  /**
   * `system_admin` and `admin` may do everything, `auditor` and `manager` read everything, any other role only `/me/*`;
   * with a `tenantId`, "everything" is that tenant's rows and rows about entities it owns, and `/integrity` and `/health` are refused.
   */
  role: string;
  tenantId?: string | null;
}

/** The built-in alert rules, as `activity_alerts.rule` names them. */
export const ALERT_RULES = [
  'failed_logins_per_ip',
  'failed_logins_per_account',
  'ip_many_accounts',
  'auth_failure_burst',
  'scanning_404',
  'impossible_travel',
  'mass_export',
  'error_rate',
  'critical_events',
  'token_abuse',
] as const;
export type AlertRuleName = (typeof ALERT_RULES)[number];

/**
 * The settings of one alert rule. A rule fires at most once per key (an IP, an account, a user,
 * `global` or a tenant) and window. The rules keyed by an IP, an account or a user count over any
 * span of `windowMinutes` (a burst across the clock's :15 is one burst); their alert's window starts
 * at its first counted row, and the key's next alert needs rows after it. `error_rate`,
 * `critical_events` and `impossible_travel` count per fixed window aligned on the Unix epoch (a
 * 15-minute window runs :00–:15, :15–:30, …).
 */
export interface AlertRuleSettings {
  /** `false` turns the rule off. Default `true`. */
  enabled?: boolean;
  /**
   * What fires the rule within a window: rows (most rules), distinct accounts (`ip_many_accounts`),
   * or the share of 5xx responses from 0 to 1 (`error_rate`). Unused by `impossible_travel`.
   */
  threshold?: number;
  /** The window, in minutes (for `impossible_travel`, the window one alert per user covers). */
  windowMinutes?: number;
  /** The severity of the alerts the rule creates. */
  severity?: Severity;
  /** `error_rate` only: requests a window needs before its rate counts. Default `50`. */
  minRequests?: number;
  /** `impossible_travel` only: the fastest believable travel, in km/h (an airliner). Default `900`. */
  speedKmh?: number;
  /** `error_rate` and `critical_events`: one key for all rows (`'global'`, the default) or one per tenant (`'tenant'`; rows without one are not counted). */
  groupBy?: 'global' | 'tenant';
}

/**
 * Alerts: built-in rules evaluated by a periodic job (never on the request path) over recent
 * activity. Defaults, per rule (threshold in windowMinutes, severity):
 * - `failed_logins_per_ip`: 5 failed logins (`login_failed`) from one IP in 15, high
 * - `failed_logins_per_account`: 5 failed logins against one account (user id) in 15, high
 * - `ip_many_accounts`: one IP failing logins against 3 distinct accounts in 15, high
 * - `auth_failure_burst`: 20 responses 401 or 403 to one IP in 5, medium
 * - `scanning_404`: 30 responses 404 to one IP in 5, medium
 * - `impossible_travel`: one user seen in two countries sooner than an airliner (`speedKmh` 900)
 *   could fly between them (country centroids), one alert per user per 60, high
 * - `mass_export`: 10 `audit_export` or `file_download` rows of one user in 10, high
 * - `error_rate`: over 0.2 of the responses are 5xx, with at least 50 responses, in 5, key `global`, high
 * - `critical_events`: 5 rows of severity `critical` in 15, key `global`, critical
 * - `token_abuse`: 3 rows with action `authn_token_invalid`, `authn_token_expired` or
 *   `authn_token_reuse` from one IP (key `ip:<ip>`) or for one account (key `account:<id>`) in 15, high
 */
export interface AlertOptions {
  /** Seconds between evaluations. Default `30`. */
  intervalSeconds?: number;
  /**
   * How far back each evaluation reads, in minutes (from the start of the window that holds that
   * moment); rows stored later than this after they happened are not evaluated. Default `60`.
   */
  lookbackMinutes?: number;
  /**
   * POST each new alert as JSON to `url`, signed: `X-Activity-Signature: sha256=<hex HMAC-SHA256 of
   * the raw body with secret>`, with `X-Activity-Timestamp` (Unix seconds, also in the body as
   * `sentAt`). A non-2xx answer, a network error or no answer in `timeoutMs` (default `10000`) is
   * retried up to `maxAttempts` (default `5`) attempts in all, waiting `retryDelayMs` (default `1000`)
   * doubled after each. Default: none.
   */
  webhook?: { url: string; secret: string; maxAttempts?: number; retryDelayMs?: number; timeoutMs?: number };
  /** Per-rule settings, by rule name; `false` turns a rule off. */
  rules?: Partial<Record<AlertRuleName, AlertRuleSettings | false>>;
}

/** One alert, as `tracker.on('alert')`, the webhook and `GET /alerts` give it. */
export interface Alert {
  id: string;
  rule: AlertRuleName;
  /** What the rule counted by: an IP, an account, `global`, a tenant, `ip:<ip>` / `account:<id>`. */
  key: string;
  severity: Severity;
  /** The tenant every counted row shares; null when they name none or several. */
  tenantId: string | null;
  windowStart: string;
  windowEnd: string;
  /** Rows counted when the alert was created (for `error_rate`, the 5xx responses; `impossible_travel`, the impossible moves). */
  count: number;
  firstSeen: string;
  lastSeen: string;
  summary: string;
  details: Record<string, unknown>;
  createdAt: string;
}

export interface SuspiciousThresholds {
  /** Requests slower than this many milliseconds are reported. Default: `5000`. */
  slowRequestMs: number;
  /** Responses larger than this many bytes are reported. Default: `10485760` (10 MB). */
  largeResponseBytes: number;
  /** This many failed logins from one IP or against one account within the window are reported. Default: `5`. */
  failedLoginThreshold: number;
  /** The window of `failedLoginThreshold`, in minutes. Default: `15`. */
  failedLoginWindowMinutes: number;
}

export interface Logger {
  debug(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

/** Request as the package sees it: any Express 4 or 5 request. */
export type TrackedRequest = IncomingMessage & {
  ip?: string;
  path?: string;
  originalUrl?: string;
  baseUrl?: string;
  route?: { path?: unknown };
  params?: Record<string, unknown>;
  query?: unknown;
  body?: unknown;
  cookies?: Record<string, unknown>;
  secure?: boolean;
  sessionID?: string;
  user?: unknown;
  activity?: RequestActivity;
};
export type TrackedResponse = ServerResponse;

/**
 * Every option, with its default and, where there is one, the environment variable read when the
 * option is not given. Options override the environment.
 */
export interface Options {
  /** PostgreSQL connection string or a knex instance. Default: `DATABASE_URL`, else the embedded database. */
  database?: string | Knex;
  /**
   * Where the embedded database, the journal and the session cookie key live (the last two on
   * PostgreSQL too), private to the process's user: folders 0700, files 0600. Default:
   * `ACTIVITY_DATA_DIR`, else `./.activity-data`.
   */
  dataDir?: string;
  /** Create or update the tables on a PostgreSQL server at start-up. Default `false` (the embedded database always migrates itself). */
  autoMigrate?: boolean;
  /** Minutes of inactivity before a session ends. Default: `SESSION_TIMEOUT`, else `30`. */
  sessionTimeoutMinutes?: number;
  /** Days of activity kept. Default: `ACTIVITY_LOG_RETENTION_DAYS`, else `90`. */
  retentionDays?: number;
  /** Capture sanitized params, query, body excerpt and selected headers. Default: `ENABLE_DETAILED_TRACKING`, else `true`. */
  detailedTracking?: boolean;
  /** HS256 secret that bearer tokens are verified with. Default: `ACTIVITY_JWT_SECRET`, else none (tokens never name a user). */
  jwtSecret?: string;
  /**
   * Public key (PEM) that bearer tokens are verified with, instead of `jwtSecret`, by the report
   * routes and by capture alike. Default: none. Requires `jwtAlgorithm`.
   */
  jwtPublicKey?: string;
  /** The one algorithm `jwtPublicKey` tokens must be signed with: `'RS256'` or `'ES256'`. Default: none. */
  jwtAlgorithm?: 'RS256' | 'ES256';
  /** Required `iss` claim of bearer tokens (report routes and capture). Default: not checked. */
  jwtIssuer?: string;
  /** Required `aud` claim of bearer tokens (report routes and capture). Default: not checked. */
  jwtAudience?: string;
  /** Seconds of clock skew allowed on bearer tokens' `exp` and `nbf` (report routes and capture). Default: `5`. */
  jwtClockToleranceSeconds?: number;
  /**
   * Decides who is calling the report routes, for apps with their own auth; replaces bearer tokens.
   * Return `null` for an anonymous caller (401). Default: none (bearer tokens are used).
   */
  authorize?: (req: TrackedRequest) => ReportPrincipal | null | undefined | Promise<ReportPrincipal | null | undefined>;
  /** Minutes between runs of the job that ends sessions idle for `sessionTimeoutMinutes`. Default: `5`. */
  sessionSweepMinutes?: number;
  /**
   * Run the periodic jobs (retention, every hour; the session sweeper; the alert rules, every `alerts.intervalSeconds`) in this process. Several processes may all run
   * them: a PostgreSQL advisory lock lets one at a time do each job. Default: `true`.
   */
  jobs?: boolean;
  /** Thresholds of `GET /suspicious`. Defaults: see {@link SuspiciousThresholds}. */
  suspicious?: Partial<SuspiciousThresholds>;
  /** Requests to `GET /export` allowed per user per window. Default: `{ windowMs: 60000, max: 10 }`. */
  exportRateLimit?: { windowMs?: number; max?: number };
  /** Returns the signed-in user's id. Default: `req.user.id`, then `req.user.sub`, then a verified bearer token's `sub`. */
  getUserId?: (req: TrackedRequest) => string | number | null | undefined;
  /** Returns the tenant (organisation) a request belongs to; stored on its row and on events it records. Default: none. */
  getTenantId?: (req: TrackedRequest) => string | number | null | undefined;
  /**
   * Whether report readers must belong to a tenant. `'required'`: a caller whose role is not
   * `system_admin` and whose token (or `authorize(req)` principal) carries no tenant is refused
   * (403) on every report route but `/me/*`. `'optional'`: such a caller reads every tenant, as in
   * an app without tenants. A caller with a tenant always reads only that tenant's rows (and
   * activities about entities it owns); `system_admin` always reads every tenant.
   * Default: `'required'` when `getTenantId` is set, else `'optional'`.
   */
  tenants?: 'required' | 'optional';
  /**
   * Run each tenant-scoped report's queries in a transaction that sets the PostgreSQL setting
   * `activity_tracking.tenant_id`, for the row-level security policies of `enableRowLevelSecurity`
   * (or `activity-tracking rls enable`) to filter as a second wall. Ignored on the embedded
   * database. Default `false`.
   */
  rowLevelSecurity?: boolean;
  /** Last word on the activity type; receives the type the rules chose. Default: none. */
  classify?: (req: TrackedRequest, res: TrackedResponse, suggested: ActivityType) => ActivityType | undefined;
  /** Activity type per route, keyed `'METHOD /pattern'` or `'/pattern'` (pattern as written in the app). Default `{}`. */
  routeActivityTypes?: Record<string, ActivityType>;
  /** Paths whose POST is a login. Default: `/login`, `/signin`, `/auth/login`, `/api/login`, `/api/auth/login`, `/api/v1/auth/login`, `/session`, `/sessions`, `/auth/signin`, `/api/auth/signin`. */
  loginPaths?: string[];
  /** Paths that log out. Default: `/logout`, `/signout`, `/auth/logout`, `/api/logout`, `/api/auth/logout`, `/api/v1/auth/logout`, `/auth/signout`, `/api/auth/signout`. */
  logoutPaths?: string[];
  /** Paths that refresh a token. Default: `/token/refresh`, `/auth/refresh`, `/api/auth/refresh`, `/refresh`, `/refresh-token`, `/api/token/refresh`, `/oauth/token`, `/api/v1/auth/refresh`. */
  tokenRefreshPaths?: string[];
  /** Requests for which it returns true are not recorded. Default: none. */
  skip?: (req: TrackedRequest) => boolean;
  /** Further key names to redact, matched like the built-in ones (case- and separator-insensitive, by containment). Default `[]`. */
  sensitiveKeys?: string[];
  /** Bounds on `details`. Defaults: depth 6, 100 keys per object, strings of 1024 characters, 16384 bytes in all. */
  limits?: { maxDepth?: number; maxKeys?: number; maxStringLength?: number; maxTotalBytes?: number };
  /** Request headers kept in `details.headers` (sanitized). Default: `accept`, `accept-language`, `content-type`, `origin`, `referer`, `x-request-id`, `x-correlation-id`. */
  headers?: string[];
  /** Look up country, region and city of public IPs (geoip-lite, loaded on first use). Default `true`. */
  geo?: boolean;
  /**
   * The package's own session cookie, for apps without express-session: `<session id>.<HMAC>`,
   * signed with a key derived from `sessionSecret`; a cookie that does not verify is ignored.
   * `false` sets none. Default `{ name: 'activity_sid' }`.
   */
  sessionCookie?: false | { name?: string };
  /**
   * Secret (16+ characters) the session cookie's signature and the keyed hash of IP and user agent
   * that recognizes a cookie-less client are derived from. Give every process of an app the same
   * one (or the same data folder) so each accepts the others' cookies. Default:
   * `ACTIVITY_SESSION_SECRET`, else a random key generated once and kept (0600) in
   * `<dataDir>/session-key`, on PostgreSQL too.
   */
  sessionSecret?: string;
  /**
   * The writer's signing key: every batch appended to the trail is signed with it as it is written,
   * and `verify` with the same key reports rows no signed batch covers (`unsigned_rows`). An
   * HMAC-SHA256 secret (16+ characters) or an Ed25519 private key (PEM or KeyObject). Every process
   * that writes (app instances, the CLI's cleanup) needs it. Default: `ACTIVITY_SIGNING_KEY`, else none.
   */
  signingKey?: string | KeyObject;
  /** Rows per batch statement. Default `500`. */
  batchSize?: number;
  /** Longest wait before queued events are written, in milliseconds. Default `50`. */
  flushIntervalMs?: number;
  /**
   * Events held in memory at most. Past it, the oldest batch moves to the journal; only with the
   * journal off (or unwritable) are events dropped, counted and logged. Default `10000`.
   */
  maxQueueSize?: number;
  /**
   * The durable local journal that keeps what the database cannot take now (unreachable, failing,
   * slow, or behind), replayed in order as soon as it answers, and at the next start.
   * `dir` default: `<dataDir>/journal`, where dataDir is `ACTIVITY_DATA_DIR` or `./.activity-data` (also on PostgreSQL).
   * `mode` default `'spill'`: journal only what the database cannot take; `'write-ahead'` journals every batch
   * before writing it, so a crash loses only what was not journaled yet, at a cost in throughput.
   * `maxBytes` default: no limit (the disk's); past it, events are dropped, counted and logged.
   * `false` turns it off. Default `{ dir: <dataDir>/journal, mode: 'spill' }`.
   */
  journal?: false | { dir?: string; mode?: 'spill' | 'write-ahead'; maxBytes?: number };
  /** Waits between write retries: exponential with full jitter, from `initialDelayMs` (default `100`) up to `maxDelayMs` (default `10000`). */
  retry?: { initialDelayMs?: number; maxDelayMs?: number };
  /** A batch write the database has not answered in this many milliseconds counts as failed and is retried from the journal. Default `30000`. */
  writeTimeoutMs?: number;
  /** How long `close()` writes waiting events to the database before it journals the rest, in milliseconds. Default `10000`. */
  closeTimeoutMs?: number;
  /** On SIGTERM or SIGINT, close the tracker (within `closeTimeoutMs`), then let the signal take its usual course. Default `false`. */
  handleSignals?: boolean;
  /**
   * Risk scoring of every row: a score from 0 to 1 with the factors that produced it, a severity and an
   * anomaly flag, computed as each batch is written. Defaults: see {@link RiskOptions}. `false` leaves
   * the risk columns empty (and a domain event's severity as given).
   */
  risk?: false | RiskOptions;
  /**
   * Built-in alert rules, evaluated every `intervalSeconds` by a job (with `jobs`) or on
   * `tracker.runJob('alerts')`; alerts are stored in `activity_alerts`, served at `GET /alerts`,
   * emitted as `tracker.on('alert')` and optionally POSTed to a webhook. Defaults: see
   * {@link AlertOptions}. `false` turns alerting off.
   */
  alerts?: false | AlertOptions;
  /** Where the package reports what it does and what fails. Default: `console`, `warn` and above. */
  logger?: Logger;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by the activity tracking middleware: name this request's activity or record linked events. */
      activity?: RequestActivity;
    }
  }
}
