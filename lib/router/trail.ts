import type { Request, Response } from 'express';
import type { ActivityType, ReportPrincipal } from '../types';
import { describeTenantScope, type TenantScope } from '../store/reports/tenantScope';
import type { ReadDescription, ReportContext } from './context';

export interface TrailEntry {
  type: Extract<ActivityType, 'audit_read' | 'audit_export' | 'authz_fail'>;
  action: string;
  userId: string | null;
  details: Record<string, unknown>;
  entityType?: string;
  entityId?: string;
}

/**
 * Puts a report-route request on the trail once: when the capture middleware saw the request, its
 * own row is given the type, the caller and the details; otherwise a row is recorded when the
 * response ends. Set before the response is sent.
 */
export function noteOnTrail(ctx: ReportContext, req: Request, res: Response, entry: TrailEntry): void {
  const activity = req.activity;
  if (activity && typeof activity.record === 'function') {
    activity.activityType = entry.type;
    activity.action = entry.action;
    if (entry.userId !== null) activity.userId = entry.userId;
    activity.details = entry.details;
    if (entry.entityType !== undefined) activity.entityType = entry.entityType;
    if (entry.entityId !== undefined) activity.entityId = entry.entityId;
    return;
  }
  const noted = res.locals as { activityTrailNoted?: TrailEntry };
  const first = noted.activityTrailNoted === undefined;
  noted.activityTrailNoted = entry;
  if (!first) return;
  res.once('close', () => {
    const last = noted.activityTrailNoted ?? entry;
    ctx.record({
      action: last.action,
      activityType: last.type,
      userId: last.userId,
      details: { ...last.details, method: req.method, path: req.originalUrl.split('?')[0], statusCode: res.statusCode },
      entityType: last.entityType ?? null,
      entityId: last.entityId ?? null,
      success: res.statusCode < 400 && res.writableFinished,
      ipAddress: req.ip ?? null,
      userAgent: req.headers['user-agent'] ?? null,
    });
  });
}

/** A report call's `describe`: turns what the route read into the request's `audit_read` or `audit_export` entry. */
export function readDescriber(ctx: ReportContext, req: Request, res: Response, principal: ReportPrincipal, scope: TenantScope): (read: ReadDescription) => void {
  return (read) => {
    const type = read.type ?? 'audit_read';
    noteOnTrail(ctx, req, res, {
      type,
      action: type === 'audit_export' ? 'report.export' : 'report.read',
      userId: principal.userId,
      details: { route: routeOf(req), role: principal.role, ...describeTenantScope(scope), ...(read.filters ? { filters: read.filters } : {}), ...(read.rows !== undefined ? { rows: read.rows } : {}) },
      ...(read.entityType !== undefined ? { entityType: read.entityType } : {}),
      ...(read.entityId !== undefined ? { entityId: read.entityId } : {}),
    });
  };
}

/** The route as mounted, without the query string, for the trail. */
export function routeOf(req: Request): string {
  return `${req.baseUrl}${req.route && typeof req.route.path === 'string' ? req.route.path : req.path}`;
}
