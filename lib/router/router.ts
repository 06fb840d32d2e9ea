import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { ADMIN_ROLES, createReportAuthenticator, READER_ROLES, tenantScopeOf } from '../auth/reportAuth';
import { describeTenantScope, EVERY_TENANT, type TenantScope } from '../store/reports/tenantScope';
import { reports } from '../store/reports/reader';
import type { ReportPrincipal } from '../types';
import { ApiError, errorHandler, routeNotFound } from './apiError';
import { undecodablePathParam, type ParamRoute } from './pathParams';
import type { ReportCall, ReportContext, ReportHandler } from './context';
import { noteOnTrail, readDescriber, routeOf } from './trail';
import { activitiesRoute } from './routes/activities';
import { statsRoute } from './routes/stats';
import { activeSessionsRoute, mySessionsRoute, mySummaryRoute } from './routes/sessions';
import { suspiciousRoute } from './routes/suspicious';
import { auditTrailRoute } from './routes/auditTrail';
import { exportRoute } from './routes/export';
import { complianceReportRoute } from './routes/compliance';
import { openApiDocument } from './routes/openapi';
import { integrityRoute } from './routes/integrity';
import { healthRoute } from './routes/health';
import { acknowledgeAlertRoute, alertsRoute, jsonBody } from './routes/alerts';
import { activityRoute } from './routes/activity';
import { liveRoute } from './routes/live';
import { integrityRunRoute, integrityRunsFor, integrityRunsRoute, startIntegrityRunRoute } from './routes/integrityRuns';
import { crossOriginProtection } from './crossOrigin';
import { LiveStreamLimit } from './liveStreamLimit';
import { consoleHandlers } from '../console/consoleRoutes';

/**
 * Who may use a route: admins, readers (admins, auditors, managers), admins who read every tenant
 * (`platform`: whole-database routes such as the chain check), or every signed-in user about themself.
 */
type Access = 'platform' | 'admin' | 'reader' | 'self';

/** The routes with path parameters: Express decodes those before any handler runs (see pathParams.ts). */
const ENTITY_TRAIL: ParamRoute<Access> = { method: 'GET', path: '/entities/:entityType/:entityId/audit-trail', access: 'reader' };
const ACKNOWLEDGE: ParamRoute<Access> = { method: 'POST', path: '/alerts/:id/acknowledge', access: 'admin' };
const ACTIVITY: ParamRoute<Access> = { method: 'GET', path: '/activities/:id', access: 'reader' };
const INTEGRITY_RUN: ParamRoute<Access> = { method: 'GET', path: '/integrity/runs/:id', access: 'platform' };

/**
 * The report routes. Every route but `/openapi.json` needs a caller (401 otherwise) with a role
 * that may use it (403 otherwise); both refusals and every read are put on the trail.
 * Throws at start-up when no way to authenticate callers is configured.
 */
export function createReportRouter(ctx: ReportContext): Router {
  const authenticate = createReportAuthenticator(ctx.config);
  const router = express.Router();

  const guard = (access: Access) => async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const result = await authenticate(req);
      if (!result.ok) {
        noteOnTrail(ctx, req, res, { type: 'authz_fail', action: 'report.unauthenticated', userId: null, details: { reason: result.reason, route: routeOf(req) } });
        res.setHeader('WWW-Authenticate', 'Bearer realm="activity-tracking"');
        throw new ApiError(401, 'ERR_AT_UNAUTHENTICATED', messageFor(result.reason));
      }
      const { principal } = result;
      const roles = access === 'admin' || access === 'platform' ? ADMIN_ROLES : access === 'reader' ? READER_ROLES : null;
      if (roles !== null && !roles.has(principal.role)) {
        noteOnTrail(ctx, req, res, { type: 'authz_fail', action: 'report.forbidden', userId: principal.userId, details: { reason: 'role_not_allowed', role: principal.role, route: routeOf(req) } });
        throw new ApiError(403, 'ERR_AT_FORBIDDEN', `Role "${principal.role.slice(0, 64)}" may not use this route; it needs one of ${[...roles].join(', ')}. Every signed-in user may use /me/sessions and /me/summary`);
      }
      // Whose rows: decided here, once, for every route but /me/* (which reads by user id).
      const scope = access === 'self' ? EVERY_TENANT : tenantScopeOf(principal, ctx.config.tenants);
      if (scope === null) {
        noteOnTrail(ctx, req, res, { type: 'authz_fail', action: 'report.forbidden', userId: principal.userId, details: { reason: 'tenant_claim_missing', role: principal.role, route: routeOf(req) } });
        throw new ApiError(403, 'ERR_AT_FORBIDDEN', `This app keeps the trail per tenant: a "${principal.role.slice(0, 64)}" token needs a tenant claim (tenantId, tenant_id or tid) naming the tenant whose rows it may read; only system_admin reads every tenant`);
      }
      if (access === 'platform' && scope.tenantId !== null) {
        noteOnTrail(ctx, req, res, { type: 'authz_fail', action: 'report.forbidden', userId: principal.userId, details: { reason: 'tenant_scoped', role: principal.role, tenantScope: scope.tenantId, route: routeOf(req) } });
        throw new ApiError(403, 'ERR_AT_FORBIDDEN', 'This route covers the whole database, every tenant\'s rows, so an admin of one tenant may not use it; it needs system_admin, or an admin without a tenant in an app without tenants');
      }
      res.locals['activityPrincipal'] = principal;
      res.locals['activityTenantScope'] = scope;
      // On the trail as a read from here on, even when it then fails validation or is rate limited;
      // the route's describe() adds what was read.
      noteOnTrail(ctx, req, res, { type: 'audit_read', action: 'report.read', userId: principal.userId, details: { route: routeOf(req), role: principal.role, ...describeTenantScope(scope) } });
      next();
    } catch (error) {
      next(error);
    }
  };

  /**
   * Runs a route with its call: the caller, the scope, `describe`, and the request's one reader.
   * Waits for the database first, except for `/health`, which must answer while it is down.
   */
  const run = (handler: ReportHandler, { waitForReady = true } = {}) => async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const principal = res.locals['activityPrincipal'] as ReportPrincipal;
    const scope = res.locals['activityTenantScope'] as TenantScope;
    const call: ReportCall = {
      principal,
      scope,
      describe: readDescriber(ctx, req, res, principal, scope),
      reader: reports(ctx.db, scope, ctx.config.rowLevelSecurity),
    };
    try {
      if (waitForReady) await ctx.ready();
      await handler(req, res, call);
    } catch (error) {
      next(error);
    }
  };

  const exportLimiter = rateLimit({
    windowMs: ctx.config.exportRateLimit.windowMs,
    limit: ctx.config.exportRateLimit.max,
    keyGenerator: (_req, res) => `user:${(res.locals['activityPrincipal'] as ReportPrincipal).userId}`,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (req, res, next) => {
      const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(((reset?.getTime() ?? Date.now() + ctx.config.exportRateLimit.windowMs) - Date.now()) / 1000))));
      next(new ApiError(429, 'ERR_AT_RATE_LIMITED', `At most ${ctx.config.exportRateLimit.max} exports per ${Math.round(ctx.config.exportRateLimit.windowMs / 1000)} s per user; try again after Retry-After seconds`));
    },
  });

  // State-changing routes refuse cross-site browser requests when the caller is known by a cookie.
  const sameOrigin = ctx.config.authorize ? [crossOriginProtection] : [];
  const integrityRuns = integrityRunsFor(ctx);
  const liveStreams = new LiveStreamLimit(ctx.config.liveStreams.perUser);
  const consolePages = consoleHandlers(ctx.config);

  router.get('/openapi.json', (_req, res) => { res.json(openApiDocument()); });
  // The console's page and assets hold nothing of the trail: what it shows comes from the routes below.
  router.get('/console', consolePages.page);
  router.get('/console/assets/:file', consolePages.asset);
  router.get('/console/session', guard('self'), run(consolePages.session, { waitForReady: false }));
  router.get('/console/:view', consolePages.page);
  router.get('/activities', guard('reader'), run(activitiesRoute()));
  router.get(ACTIVITY.path, guard(ACTIVITY.access), run(activityRoute()));
  router.get('/live', guard('reader'), run(liveRoute(ctx, liveStreams)));
  router.get('/stats', guard('reader'), run(statsRoute()));
  router.get('/sessions/active', guard('reader'), run(activeSessionsRoute(ctx)));
  router.get('/suspicious', guard('reader'), run(suspiciousRoute(ctx)));
  router.get(ENTITY_TRAIL.path, guard(ENTITY_TRAIL.access), run(auditTrailRoute()));
  router.get('/export', guard('reader'), exportLimiter, run(exportRoute(ctx)));
  router.get('/compliance-report', guard('reader'), run(complianceReportRoute(ctx)));
  router.get('/integrity', guard('platform'), run(integrityRoute(ctx)));
  router.get('/integrity/runs', guard('platform'), run(integrityRunsRoute(integrityRuns)));
  router.post('/integrity/runs', guard('platform'), ...sameOrigin, jsonBody('{ } or { "checkpoint": { ... } }'), run(startIntegrityRunRoute(integrityRuns)));
  router.get(INTEGRITY_RUN.path, guard(INTEGRITY_RUN.access), run(integrityRunRoute(integrityRuns)));
  router.get('/health', guard('platform'), run(healthRoute(ctx), { waitForReady: false }));
  // Alerts: readers list them; acknowledging is an admin's act.
  router.get('/alerts', guard('reader'), run(alertsRoute()));
  router.post(ACKNOWLEDGE.path, guard(ACKNOWLEDGE.access), ...sameOrigin, jsonBody('{ "note": "checked with the account owner" }'), run(acknowledgeAlertRoute(ctx)));
  router.get('/me/sessions', guard('self'), run(mySessionsRoute()));
  router.get('/me/summary', guard('self'), run(mySummaryRoute()));
  router.use((req, _res, next) => { next(routeNotFound(req)); });
  router.use(undecodablePathParam([ENTITY_TRAIL, ACKNOWLEDGE, ACTIVITY, INTEGRITY_RUN], guard));
  router.use(errorHandler(ctx.config.logger));
  return router;
}

function messageFor(reason: string): string {
  switch (reason) {
    case 'missing_token': return 'Sign in: send Authorization: Bearer <token>';
    case 'expired_token': return 'The token has expired; get a new one';
    case 'missing_exp': return 'The token has no exp claim; tokens must expire';
    case 'unsigned_token': return 'Unsigned tokens are not accepted';
    case 'bad_signature': return 'The token signature is not valid for this server';
    case 'wrong_issuer': return 'The token was issued by an issuer this server does not accept';
    case 'wrong_audience': return 'The token is meant for another audience';
    case 'not_yet_valid': return 'The token is not valid yet';
    case 'missing_subject': return 'The token names no user (sub)';
    case 'not_authorized': return 'Sign in to read the activity trail';
    default: return 'The Authorization header does not hold a well-formed bearer token';
  }
}
