import type { NextFunction, Request, Response } from 'express';
import { ApiError } from './apiError';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses state-changing calls that a browser makes on another site's behalf, for routes whose
 * caller is known by a cookie (the app's `authorize(req)`): a page elsewhere can make the browser
 * send the app's cookies with a form post or a fetch, but cannot hide where the request came from.
 *
 * The check is the one of Go's net/http CrossOriginProtection and of OWASP's Fetch Metadata
 * defence: browsers since 2023 send `Sec-Fetch-Site`, and it must be `same-origin` (or `none`, a
 * request the user typed); without it, `Origin` (sent with every cross-origin POST) must name this
 * host; a request with neither comes from no browser, so no cookie was sent on someone else's
 * behalf. It needs no token and no state, so it holds across any number of app instances.
 * Bearer-token callers are not checked: a browser never attaches a token by itself.
 */
export function crossOriginProtection(req: Request, _res: Response, next: NextFunction): void {
  const refusal = crossOriginRefusal(req.method, req.headers['sec-fetch-site'], req.headers.origin, req.headers.host);
  next(refusal === null ? undefined : new ApiError(403, 'ERR_AT_CROSS_ORIGIN', refusal));
}

/** Why the request is refused, or null when it may go on. */
export function crossOriginRefusal(method: string, fetchSite: string | string[] | undefined, origin: string | undefined, host: string | undefined): string | null {
  if (SAFE_METHODS.has(method)) return null;
  if (typeof fetchSite === 'string' && fetchSite !== '') {
    return fetchSite === 'same-origin' || fetchSite === 'none'
      ? null
      : `A ${fetchSite} request may not change the activity trail's state: the console (or a same-origin page of this app) must send it`;
  }
  if (origin === undefined || origin === '') return null;
  let originHost: string | null = null;
  try {
    originHost = origin === 'null' ? null : new URL(origin).host;
  } catch {
    originHost = null;
  }
  return originHost !== null && host !== undefined && originHost.toLowerCase() === host.toLowerCase()
    ? null
    : 'The request comes from another origin than this app\'s; state-changing calls must come from the console on this host';
}
