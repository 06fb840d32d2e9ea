import type { NextFunction, Request, Response } from 'express';
import { invalidParam, routeNotFound } from './apiError';

/** A report route with path parameters, and who may use it. */
export interface ParamRoute<A> {
  method: 'GET' | 'POST';
  path: string;
  access: A;
}

type Guard<A> = (access: A) => (req: Request, res: Response, next: NextFunction) => Promise<void>;

/**
 * Express decodes path parameters while it matches a route, before any of the route's handlers run:
 * a malformed percent-escape (`%_%`, `%E0%A4%A`) becomes a URIError that skips the guard and would
 * reach the last handler as a 500 (an `error` row feeding the error_rate alert). This error handler
 * answers it the way the route answers any other bad parameter: the route's own guard decides
 * first (401 without a valid caller, 403 for a role that may not use the route, both on the trail,
 * as for every route), then a 400 that names the parameter.
 */
export function undecodablePathParam<A>(routes: ReadonlyArray<ParamRoute<A>>, guard: Guard<A>) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (!(error instanceof URIError) || (error as { status?: unknown }).status !== 400) {
      next(error);
      return;
    }
    const found = undecodableParam(routes, req.method, req.path);
    if (found === null) {
      next(routeNotFound(req));
      return;
    }
    void guard(found.route.access)(req, res, (refused?: unknown) => {
      next(refused ?? invalidParam(found.param,
        `"${found.param}" is not valid percent-encoding: each % must start an escape of two hex digits (%2F) and together they must spell UTF-8; write a literal % as %25`));
    });
  };
}

/** The route whose pattern the path fits, and the first of its parameters that does not decode; null when none fits. */
export function undecodableParam<A>(routes: ReadonlyArray<ParamRoute<A>>, method: string, path: string): { route: ParamRoute<A>; param: string } | null {
  const wanted = method === 'HEAD' ? 'GET' : method;
  // Routes match with or without one trailing slash, in any letter case (Express's defaults).
  const segments = (path.endsWith('/') ? path.slice(0, -1) : path).split('/');
  for (const route of routes) {
    if (route.method !== wanted) continue;
    const pattern = route.path.split('/');
    if (pattern.length !== segments.length) continue;
    let param: string | null = null;
    let fits = true;
    for (let i = 0; i < pattern.length && fits; i++) {
      const part = pattern[i] as string;
      const segment = segments[i] as string;
      if (!part.startsWith(':')) fits = part.toLowerCase() === segment.toLowerCase();
      else if (param === null && !decodes(segment)) param = part.slice(1);
    }
    if (fits && param !== null) return { route, param };
  }
  return null;
}

function decodes(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}
