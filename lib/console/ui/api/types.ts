/**
 * The shapes of the report routes' answers the console reads. Where the server names a shape,
 * it is imported from there (types only: nothing of it reaches the bundle), so the console and
 * the routes cannot drift apart; the rest are the JSON forms of what the routes put together.
 */
import type { ConsoleAccess } from '../../consoleRoutes';
import type { Changes as ServerChanges, DeviceInfo as ServerDeviceInfo, FieldChange, GeoLocation as ServerGeoLocation } from '../../../types';
import type { Counted as ServerCounted } from '../../../store/reports/aggregates';
import type { ActivityStats as ServerActivityStats, UserSummary as ServerUserSummary } from '../../../store/reports/stats';
import type { AuditTrailItem as ServerAuditTrailItem } from '../../../store/reports/auditTrail';
import type { OwnSessionJson, SessionJson, SessionUser as ServerSessionUser } from '../../../store/reports/sessions';
import type { SuspiciousItem as ServerSuspiciousItem } from '../../../store/reports/suspicious';
import type { Acknowledgement as ServerAcknowledgement, AlertWithStatus } from '../../../store/alerts/alertRows';
import type { ChainVerification as ServerChainVerification } from '../../../integrity/verify';
import type { IntegrityRun as ServerIntegrityRun } from '../../../router/integrityRuns';
import type { ComplianceReport as ServerComplianceReport } from '../../../router/routes/compliance';

export type Access = ConsoleAccess;
export type DeviceInfo = ServerDeviceInfo;
export type GeoLocation = ServerGeoLocation;
export type DiffEntry = FieldChange;
export type Changes = ServerChanges;
export type Counted<K extends string, V = string> = ServerCounted<K, V>;
export type ActivityStats = ServerActivityStats;
export type AuditTrailItem = ServerAuditTrailItem;
export type SessionUser = ServerSessionUser;
/** A row of /sessions/active, or of /me/sessions with when it ended. */
export type SessionRow = SessionJson & Partial<Pick<OwnSessionJson, 'endTime' | 'duration' | 'isActive'>>;
export type SuspiciousItem = ServerSuspiciousItem;
export type Acknowledgement = ServerAcknowledgement;
export type AlertRow = AlertWithStatus;
export type ChainVerification = ServerChainVerification;
export type IntegrityRun = ServerIntegrityRun;
export type ComplianceReport = ServerComplianceReport;
export type UserSummary = ServerUserSummary & { userId: string; period: Period };


export interface ConsoleSession {
  userId: string;
  role: string;
  tenantId: string | null;
  access: Access;
}


/** One row of /activities (toActivityJson): camelCase columns, ISO times. */
export interface ActivityRow {
  id: string;
  startTime: string;
  endTime: string | null;
  userId: string | null;
  sessionId: string | null;
  activityType: string;
  action: string | null;
  entityType: string | null;
  entityId: string | null;
  method: string | null;
  path: string | null;
  route: string | null;
  statusCode: number | null;
  success: boolean;
  duration: number | null;
  ipAddress: string | null;
  userAgent: string | null;
  browser: string | null;
  operatingSystem: string | null;
  deviceInfo: DeviceInfo | null;
  location: GeoLocation | null;
  requestSize: number | null;
  responseSize: number | null;
  details: unknown;
  actorType: string | null;
  actorRole: string | null;
  actorName: string | null;
  category: string | null;
  severity: string | null;
  entityName: string | null;
  tenantId: string | null;
  ownerId: string | null;
  status: string | null;
  reason: string | null;
  changes: Changes | null;
  personalData: boolean | null;
  riskScore: number | null;
  riskFactors: string[] | null;
  anomaly: boolean | null;
  createdAt: string;
  /** Rows that arrive through /live carry their chain position. */
  chainPosition?: number;
}

export interface ChainInfo { position: number | string | null; prevHash: string | null; rowHash: string | null; hashVersion: number | null }
export type ActivityDetail = ActivityRow & { chain?: ChainInfo | null };

export interface Pagination {
  total: number;
  totalIsLowerBound?: boolean;
  limit: number;
  offset: number;
  nextCursor?: string | null;
}

export interface Page<T> { data: T[]; pagination: Pagination }


export interface Period { startDate: string; endDate: string }


export interface SuspiciousAnswer {
  data: SuspiciousItem[];
  summary: { byRule: Record<string, number> };
  thresholds: Record<string, number>;
  period: Period;
}


/** A verification recorded on the trail. */
export interface RecordedVerification {
  at: string;
  userId: string | null;
  /** `failed`: the run could not finish (`error` says why) and the chain was not judged. */
  status?: 'done' | 'failed';
  error?: string | null;
  ok: boolean;
  rowsChecked: number;
  verifiedFrom: number | null;
  verifiedTo: number | null;
  headHash: string | null;
  failure?: ChainVerification['failure'] | null;
  checkpoint?: ChainVerification['checkpoint'] | null;
}

export interface IntegrityRuns { current: IntegrityRun | null; recent: RecordedVerification[] }

