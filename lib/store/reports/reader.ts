import type { Database } from '../database';
import { readInTenant, rowLevelSecurityBinding, type RowLevelSecurityBinding } from '../rowLevelSecurity';
import { findAlert, listAlerts, type AlertFilters, type AlertWithStatus } from '../alerts/alertRows';
import { listActivities, type ActivityList } from './activities';
import { findActivity, type ActivityDetail } from './activityDetail';
import { lastPosition, rowsAfterPosition, type LiveRow } from './liveRows';
import { findAuditTrail, type AuditTrail, type AuditTrailQuery } from './auditTrail';
import { complianceFigures, type ComplianceFigures } from './compliance';
import { probeDatabase, type DatabaseProbe } from './databaseProbe';
import { exportPages } from './exportRows';
import { exportCopySql, runCopy } from './exportCopy';
import type { ActivityFilters, ActivityPage, Paging, Period, SortOrder, StatsFilters } from './filters';
import { activeSessions, userSessions, type ActiveSessionFilter, type OwnSessionJson, type SessionJson, type SessionPage } from './sessions';
import { activityStats, userSummary, type ActivityStats, type UserSummary } from './stats';
import { findSuspicious, type SuspiciousQuery, type SuspiciousResult } from './suspicious';
import type { TenantScope } from './tenantScope';

/** Every read a report route makes, held to one caller's tenant scope. */
export interface ReportReader {
  activities(filters: ActivityFilters, page: ActivityPage): Promise<ActivityList>;
  /** One row of the scope with its chain link; null when the scope holds none with that id. */
  activity(id: string): Promise<ActivityDetail | null>;
  stats(filters: StatsFilters): Promise<ActivityStats>;
  /** The chain's head position (0 when empty): where a live stream starts. */
  lastPosition(): Promise<number>;
  /** Matching rows of the scope stored after a chain position, in chain order. */
  rowsAfterPosition(filters: ActivityFilters, after: number, limit: number): Promise<LiveRow[]>;
  activeSessions(filter: ActiveSessionFilter, paging: Paging): Promise<SessionPage<SessionJson>>;
  /** One user's own sessions, whatever the scope: the user id is the filter. */
  userSessions(userId: string, paging: Paging): Promise<SessionPage<OwnSessionJson>>;
  /** One user's own activities, whatever the scope: the user id is the filter. */
  userSummary(userId: string, period: Period): Promise<UserSummary>;
  suspicious(query: SuspiciousQuery): Promise<SuspiciousResult>;
  auditTrail(query: AuditTrailQuery): Promise<AuditTrail>;
  /** The rows of an export, page by page; each page is its own short read. */
  exportRows(filters: ActivityFilters, order: SortOrder): AsyncGenerator<Array<Record<string, unknown>>>;
  /**
   * The rows of an export as CSV text PostgreSQL writes itself (exportCopy.ts), handed to `consume`
   * chunk by chunk while one connection, in the tenant's transaction when there is one, is held;
   * if `consume` returns before the last chunk, the COPY is cancelled. PostgreSQL only: the embedded
   * database has no COPY to stream (use exportRows there).
   */
  exportCsv(filters: ActivityFilters, order: SortOrder, consume: (chunks: AsyncIterable<Buffer>) => Promise<void>): Promise<void>;
  compliance(period: Period): Promise<ComplianceFigures>;
  alerts(filters: AlertFilters, paging: Paging): Promise<{ data: AlertWithStatus[]; total: number }>;
  /** One alert of the scope; null when the scope holds none with that id. */
  alert(id: string): Promise<AlertWithStatus | null>;
  databaseProbe(timeoutMs: number): Promise<DatabaseProbe>;
  rowLevelSecurityBinding(): Promise<RowLevelSecurityBinding>;
}

/**
 * The reads of one report request. Each runs through readInTenant: with the `rowLevelSecurity`
 * option and a caller of one tenant, in a read-only transaction that sets the tenant for the
 * policies; otherwise on the shared pool.
 */
export function reports(db: Database, scope: TenantScope, rowLevelSecurity: boolean): ReportReader {
  const read = <T>(query: (db: Database) => Promise<T>): Promise<T> => readInTenant(db, scope, rowLevelSecurity, query);
  return {
    activities: (filters, page) => read((conn) => listActivities(conn, scope, filters, page)),
    activity: (id) => read((conn) => findActivity(conn, scope, id)),
    stats: (filters) => read((conn) => activityStats(conn, scope, filters)),
    lastPosition: () => read((conn) => lastPosition(conn)),
    rowsAfterPosition: (filters, after, limit) => read((conn) => rowsAfterPosition(conn, scope, filters, after, limit)),
    activeSessions: (filter, paging) => read((conn) => activeSessions(conn, scope, filter, paging)),
    userSessions: (userId, paging) => read((conn) => userSessions(conn, userId, paging)),
    userSummary: (userId, period) => read((conn) => userSummary(conn, userId, period)),
    suspicious: (query) => read((conn) => findSuspicious(conn, scope, query)),
    auditTrail: (query) => read((conn) => findAuditTrail(conn, scope, query)),
    exportRows: (filters, order) => exportPages(read, scope, filters, order),
    exportCsv: (filters, order, consume) => read((conn) => runCopy(db, conn, exportCopySql(conn, scope, filters, order), consume)),
    compliance: (period) => read((conn) => complianceFigures(conn, scope, period)),
    alerts: (filters, paging) => read((conn) => listAlerts(conn, scope, filters, paging)),
    alert: (id) => read((conn) => findAlert(conn, scope, id)),
    databaseProbe: (timeoutMs) => read((conn) => probeDatabase(conn, timeoutMs)),
    rowLevelSecurityBinding: () => read((conn) => rowLevelSecurityBinding(conn)),
  };
}
