/**
 * A small but real Express 5 app that shows the activity trail at work: a form login and a JSON
 * login with bearer tokens, HTML pages, a JSON CRUD resource, an upload, a download, a failing
 * route, and the auditor's console of the trail. Everything is kept in memory except the trail.
 * Each group of routes is its own module; this file puts them in order behind the tracker.
 */
import { randomBytes } from 'node:crypto';
import express from 'express';
import session from 'express-session';
import type { ActivityTracker } from '../lib/index';
import { authenticate, requireUser, SESSION_COOKIE, TokenStore, UserStore } from './accounts';
import { approvalRoutes } from './approvals';
import { assistantRoutes } from './assistant';
import { authRoutes } from './auth';
import { errorHandler, failingRoutes, notFound } from './errors';
import { fileRoutes } from './files';
import { itemRoutes } from './items';
import { pageRoutes } from './pages';
import { EXAMPLE_USERS, exampleTenantOf, type ExampleUser } from './tenants';

declare module 'express-session' {
  interface SessionData {
    /** Set once the form login succeeds. */
    userId?: string;
  }
}

export { DEMO_USERNAME, DEMO_PASSWORD, exampleTenantOf } from './tenants';
export { MAX_UPLOAD_BYTES } from './files';

export interface ExampleAppOptions {
  /** Where unexpected errors (the ones answered with 500) are reported. Default: `console.error`. */
  logError?: (error: unknown) => void;
  /** The clock emailed approval links expire by. Default: `Date.now`. */
  now?: () => number;
}

/**
 * The tracker options the example runs with (server.ts) and its tests use: report access for the
 * signed-in user, the user's organisation on every row, the assistant's message text (`text`)
 * redacted like a password, so the trail counts conversations without keeping them, and a failed
 * login's name dropped unless it is an account (the login routes name it: nameTheAccountTried).
 */
export const EXAMPLE_TRACKER_OPTIONS = {
  authorize: (req: { user?: unknown }) => exampleReportAuthorize(req),
  getTenantId: (req: { user?: unknown }) => exampleTenantOf(req),
  sensitiveKeys: ['text'],
  dropUnknownLoginNames: true,
};

/**
 * Who may read the report routes in this example: an organisation's people audit their
 * organisation; the platform's operator audits all of them. A real app maps its own users and
 * roles here, or signs JWTs and sets ACTIVITY_JWT_SECRET instead.
 */
export function exampleReportAuthorize(req: { user?: unknown }): { userId: string; role: string; tenantId?: string } | null {
  const user = req.user as ExampleUser | undefined;
  if (!user) return null;
  return user.tenantId === null ? { userId: user.id, role: 'system_admin' } : { userId: user.id, role: 'auditor', tenantId: user.tenantId };
}

export function createExampleApp(tracker: ActivityTracker, options: ExampleAppOptions = {}): express.Express {
  const users = new UserStore(EXAMPLE_USERS);
  const tokens = new TokenStore();
  const items = itemRoutes();
  const files = fileRoutes();

  const app = express();
  app.disable('x-powered-by');

  // The tracker first, so that every request is recorded, whatever happens after it.
  app.use(tracker.middleware());
  app.use(express.json());
  app.use(express.urlencoded({ extended: false }));
  app.use(session({
    name: SESSION_COOKIE,
    secret: process.env['SESSION_SECRET'] || randomBytes(32).toString('hex'),
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax' },
  }));
  app.use(authenticate(users, tokens));

  app.use(pageRoutes({ itemsOf: items.createdBy, uploadsOf: files.uploadedBy }));
  app.use(authRoutes(users, tokens));
  app.use(items.router);
  app.use(files.router);
  app.use(failingRoutes());
  app.use(approvalRoutes({ now: options.now ?? Date.now, requireUser }).router);
  app.use(assistantRoutes(requireUser));
  app.use('/api/activity-tracking', tracker.router());

  app.use(notFound);
  app.use(errorHandler(options.logError ?? ((error: unknown) => console.error(error))));
  return app;
}
