import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ActivityRowFields } from './store/columns';
import type { StoreOptions } from './store/options';
import type { CaptureOptions } from './capture/options';
import type { SessionOptions } from './capture/sessionOptions';
import type { AuthOptions } from './auth/options';
import type { ReportOptions } from './router/options';
import type { JobOptions } from './jobs/options';
import type { RetentionGroupOptions } from './jobs/retentionOptions';
import type { RecorderOptions } from './recorder/options';
import type { RiskScoringOptions } from './risk/options';
import type { AlertingOptions } from './alerts/options';
import type { TrackerOptions } from './trackerOptions';

export type { RiskOptions } from './risk/options';
export type { AlertOptions, AlertRuleSettings } from './alerts/options';
export type { AlertWebhookOptions } from './alerts/webhookOptions';
export type { SuspiciousThresholds } from './router/options';

/** The product's vocabulary of what happened. */
export const ACTIVITY_TYPES = [
  'login',
  'logout',
  'login_failed',
  'token_refresh',
  'page_view',
  /** Browser housekeeping (favicon, robots.txt, /.well-known/) and static files: left out of stats and suspicious activity. */
  'asset',
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
 * option is not given. Options override the environment. Each key is declared by its feature (the
 * interfaces extended here), in the module that holds its default and its checks.
 */
export interface Options extends StoreOptions, CaptureOptions, SessionOptions, AuthOptions, ReportOptions, JobOptions, RetentionGroupOptions,
  RecorderOptions, RiskScoringOptions, AlertingOptions, TrackerOptions {}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by the activity tracking middleware: name this request's activity or record linked events. */
      activity?: RequestActivity;
    }
  }
}
