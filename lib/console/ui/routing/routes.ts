import type { Access } from '../api/types';
import { withoutEdgeSlashes } from './slashes';

export const VIEWS = ['overview', 'explorer', 'timeline', 'sessions', 'security', 'integrity', 'compliance', 'me'] as const;
export type ViewName = (typeof VIEWS)[number];

/** What a caller's access lets the navigation show; the routes refuse the rest anyway. */
export function viewAllowed(view: ViewName, access: Access): boolean {
  if (view === 'me') return true;
  if (view === 'integrity') return access.platform;
  return access.reader;
}

export function defaultView(access: Access): ViewName {
  return access.reader ? 'overview' : 'me';
}

/** Where the app is: a view (null for the console's root, unknown for a path it does not know) and its query. */
export interface Route {
  view: ViewName | null;
  unknown: boolean;
  params: URLSearchParams;
  /** history.state of the entry: what a view kept there (the explorer's page cursors). */
  state: unknown;
}

export function consoleRoot(base: string): string {
  return `${base}/console`;
}

export function parseRoute(base: string, location: Location, state: unknown): Route {
  const root = consoleRoot(base);
  const path = location.pathname.startsWith(root) ? location.pathname.slice(root.length) : '';
  const segment = withoutEdgeSlashes(path);
  const params = new URLSearchParams(location.search);
  if (segment === '') return { view: null, unknown: false, params, state };
  const view = (VIEWS as readonly string[]).includes(segment) ? (segment as ViewName) : null;
  return { view, unknown: view === null, params, state };
}

export type RouteParams = Record<string, string | null | undefined> | URLSearchParams;

export function hrefOf(base: string, view: ViewName, params: RouteParams = {}): string {
  const search = params instanceof URLSearchParams ? new URLSearchParams(params) : new URLSearchParams();
  if (!(params instanceof URLSearchParams)) {
    for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, value);
  }
  const text = search.toString();
  return `${consoleRoot(base)}/${view}${text === '' ? '' : `?${text}`}`;
}

/** The query with some parameters changed: a value sets one, '' or undefined removes it. */
export function withChanges(params: URLSearchParams, changes: Record<string, string | undefined>): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined || value === '') next.delete(key);
    else next.set(key, value);
  }
  return next;
}
