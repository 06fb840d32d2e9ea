import type { Request, Response } from 'express';
import { ADMIN_ROLES, READER_ROLES, tenantScopeOf } from '../auth/reportAuth';
import type { ResolvedConfig } from '../config';
import type { ReportHandler } from '../router/context';
import { ApiError } from '../router/apiError';
import { allowOnly } from '../router/params';
import { ConsoleAssets } from './consoleAssets';
import { CONSOLE_VIEWS, sendConsolePage } from './consolePage';

/** What the console may show the caller: the server decides every read again, this only picks the views to offer. */
export interface ConsoleAccess {
  /** The report views: overview, explorer, timelines, sessions, security, compliance. */
  reader: boolean;
  /** Acknowledging alerts. */
  admin: boolean;
  /** The integrity view: the chain covers every tenant. */
  platform: boolean;
}

/** The console: its page under every view path, its two assets, and who the caller is. */
export function consoleHandlers(config: ResolvedConfig): {
  page: (req: Request, res: Response) => void;
  asset: (req: Request, res: Response) => void;
  session: ReportHandler;
} {
  const assets = new ConsoleAssets();
  const auth = config.authorize ? 'cookie' : 'bearer';
  return {
    page: (req, res) => {
      const view = req.params['view'];
      if (view !== undefined && !(CONSOLE_VIEWS as readonly string[]).includes(String(view))) {
        throw new ApiError(404, 'ERR_AT_NOT_FOUND', `The console has no view "${String(view).slice(0, 40)}"; its views are ${CONSOLE_VIEWS.join(', ')}`);
      }
      sendConsolePage(req, res, assets, auth);
    },
    asset: (req, res) => { assets.serve(String(req.params['file'] ?? ''), req, res); },
    // `GET /console/session`: who the caller is and which views to offer.
    session: async (req, res, { principal }) => {
      allowOnly(req.query as Record<string, unknown>, []);
      const scope = tenantScopeOf(principal, config.tenants);
      const reader = scope !== null && READER_ROLES.has(principal.role);
      const access: ConsoleAccess = {
        reader,
        admin: reader && ADMIN_ROLES.has(principal.role),
        platform: reader && ADMIN_ROLES.has(principal.role) && scope?.tenantId === null,
      };
      res.setHeader('Cache-Control', 'no-store');
      res.json({ data: { userId: principal.userId, role: principal.role, tenantId: principal.tenantId ?? null, access } });
    },
  };
}
