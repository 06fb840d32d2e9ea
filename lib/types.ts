import type { Knex } from 'knex';
import type { IncomingMessage, ServerResponse } from 'node:http';

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

/** One recorded row of `user_activity`, as the package builds it. */
export interface ActivityEvent {
  /** UUID (version 7, time ordered) generated at capture; the row's primary key. */
  id: string;
  userId: string | null;
  sessionId: string | null;
  activityType: ActivityType;
  entityType: string | null;
  entityId: string | null;
  action: string | null;
  /** Sanitized params, query, body excerpt and selected headers (requests), or the event's own details. */
  details: Record<string, unknown> | null;
  ipAddress: string | null;
  userAgent: string | null;
  browser: string | null;
  operatingSystem: string | null;
  deviceInfo: DeviceInfo | null;
  location: GeoLocation | null;
  /** Milliseconds, from a monotonic clock. */
  duration: number | null;
  /** When the request started or the event happened, in Unix epoch milliseconds (kept as a number: the write path serializes it without a Date). */
  startTime: number;
  /** When the response ended or the client went away, in Unix epoch milliseconds. */
  endTime: number | null;
  method: string | null;
  /** Path without the query string. */
  path: string | null;
  /** Matched route pattern, e.g. `/api/items/:id`. */
  route: string | null;
  statusCode: number | null;
  success: boolean;
  requestSize: number | null;
  responseSize: number | null;
  /** Who acted, for domain events: user, admin, agent, system or service. */
  actorType?: ActorType | null;
  actorRole?: string | null;
  actorName?: string | null;
  category?: string | null;
  severity?: Severity | null;
  entityName?: string | null;
  /** The tenant the row belongs to (getTenantId, or the event's tenantId). */
  tenantId?: string | null;
  /** The tenant (or party) that owns the entity the row is about. */
  ownerId?: string | null;
  status?: EventStatus | null;
  reason?: string | null;
  /** `{ before, after, diff }` of a domain event, sanitized. */
  changes?: Changes | null;
  personalData?: boolean | null;
  riskScore?: number | null;
  riskFactors?: string[] | null;
  anomaly?: boolean | null;
}

export const ACTOR_TYPES = ['user', 'admin', 'agent', 'system', 'service'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
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

/** What `tracker.record()` and `req.activity.record()` accept: an action plus whatever is known. */
export interface RecordInput {
  /** What happened, e.g. `certification.approved`. */
  action: string;
  /** Default `system_action`. */
  activityType?: ActivityType;
  /** Who acted. `type` defaults to `user` when an id is known (here, in `userId`, or from the request), else `system`. */
  actor?: { id?: string | number | null; type?: ActorType; role?: string | null; name?: string | null };
  /** The actor's id; `actor.id` wins when both are given. */
  userId?: string | number | null;
  sessionId?: string | null;
  /** The app's grouping of actions, e.g. `approval`. */
  category?: string | null;
  /** Default: none given (the row's risk decides). */
  severity?: Severity;
  /** What was acted on; `entityType` / `entityId` are the same, flat. */
  entity?: { type: string; id?: string | number | null; name?: string | null };
  entityType?: string | null;
  entityId?: string | number | null;
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
  /** Anything else about the event, sanitized. `details` is the same. */
  metadata?: Record<string, unknown> | null;
  details?: Record<string, unknown> | null;
  /** The event reads or changes personal data. */
  personalData?: boolean;
  /** Default: true unless `status` is `failure`. */
  success?: boolean;
  ipAddress?: string | null;
  userAgent?: string | null;
  startTime?: Date;
  duration?: number | null;
}

/** What the middleware lets a route say about its own request (`req.activity`). */
export interface RequestActivity {
  /** Who acted, when the route knows better than `getUserId` (the report routes set the verified caller). */
  userId?: string;
  /** Overrides the activity type the rules would choose. */
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
  /** `system_admin` and `admin` may do everything, `auditor` and `manager` read everything, any other role only `/me/*`. */
  role: string;
  tenantId?: string | null;
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
  /** Where the embedded database lives. Default: `ACTIVITY_DATA_DIR`, else `./.activity-data`. */
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
   * Public key (PEM) that report-route bearer tokens are verified with, instead of `jwtSecret`.
   * Default: none. Requires `jwtAlgorithm`.
   */
  jwtPublicKey?: string;
  /** The one algorithm `jwtPublicKey` tokens must be signed with: `'RS256'` or `'ES256'`. Default: none. */
  jwtAlgorithm?: 'RS256' | 'ES256';
  /** Required `iss` claim of report-route tokens. Default: not checked. */
  jwtIssuer?: string;
  /** Required `aud` claim of report-route tokens. Default: not checked. */
  jwtAudience?: string;
  /** Seconds of clock skew allowed on report-route tokens' `exp` and `nbf`. Default: `5`. */
  jwtClockToleranceSeconds?: number;
  /**
   * Decides who is calling the report routes, for apps with their own auth; replaces bearer tokens.
   * Return `null` for an anonymous caller (401). Default: none (bearer tokens are used).
   */
  authorize?: (req: TrackedRequest) => ReportPrincipal | null | undefined | Promise<ReportPrincipal | null | undefined>;
  /** Minutes between runs of the job that ends sessions idle for `sessionTimeoutMinutes`. Default: `5`. */
  sessionSweepMinutes?: number;
  /**
   * Run the periodic jobs (retention, every hour; the session sweeper) in this process. Several processes may all run
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
  /** The package's own session cookie, for apps without express-session; `false` sets none. Default `{ name: 'activity_sid' }`. */
  sessionCookie?: false | { name?: string };
  /** Key for the keyed hash of IP and user agent that recognizes a cookie-less client (never stored). Default: random per process. */
  sessionSecret?: string;
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
