import { SECURITY_EVENTS } from '../securityEvents';
import type { ResolvedConfig } from '../config';
import type { ActivityType } from '../types';

export interface ClassifyInput {
  method: string;
  /** Lower-cased path without the query string or a trailing slash. */
  path: string;
  /** Full matched route pattern, or null when no route matched. */
  route: string | null;
  statusCode: number;
  requestContentType: string | undefined;
  /** The request's Accept header: a browser navigating asks for HTML. */
  accept: string | undefined;
  responseContentType: string | undefined;
  contentDisposition: string | undefined;
  /** The response's Accept-Ranges header: express.static (send) answers `bytes`. */
  acceptRanges?: string | undefined;
}

/**
 * What browsers and crawlers ask for on their own: not something a user did. `/favicon.ico` is
 * fetched after every first page, and a 404 for it is not a failed page view.
 */
const HOUSEKEEPING = /^\/(favicon\.ico|apple-touch-icon[^/]*\.png|robots\.txt|sitemap\.xml|browserconfig\.xml|site\.webmanifest|manifest\.json|\.well-known\/.*)$/;
/** Static files by extension, when no route matched: what express.static and its kind serve. */
const STATIC_FILE = /\.(css|js|mjs|map|png|jpe?g|gif|svg|ico|webp|avif|bmp|woff2?|ttf|otf|eot)$/;
const DOWNLOAD_TYPES = /^(application\/(octet-stream|zip|gzip|x-gzip|x-tar|pdf|x-7z-compressed|vnd\.)|audio\/|video\/)/i;

/** The default rules, then per-route overrides; `req.activity.type` and `classify()` come after, in the middleware. */
export function classifyActivity(input: ClassifyInput, config: Pick<ResolvedConfig, 'routeActivityTypes' | 'loginPaths' | 'logoutPaths' | 'tokenRefreshPaths'>): ActivityType {
  const overrides = config.routeActivityTypes;
  if (overrides.size > 0) {
    const byRoute = input.route === null
      ? undefined
      : overrides.get(`${input.method} ${input.route}`) ?? overrides.get(input.route);
    const byPath = byRoute ?? overrides.get(`${input.method} ${input.path}`) ?? overrides.get(input.path);
    if (byPath) return byPath;
  }
  const { method, path, statusCode } = input;
  if (method === 'POST' && config.loginPaths.has(path)) {
    if (statusCode >= 500) return 'error';
    return statusCode < 400 ? 'login' : 'login_failed';
  }
  if (config.logoutPaths.has(path) && statusCode < 500) return 'logout';
  if ((method === 'POST' || method === 'GET') && config.tokenRefreshPaths.has(path) && statusCode < 500) return 'token_refresh';
  if (statusCode >= 500) return 'error';
  if ((method === 'GET' || method === 'HEAD') && isAsset(input)) return 'asset';
  const isWrite = method === 'POST' || method === 'PUT' || method === 'PATCH';
  if (isWrite && input.requestContentType?.toLowerCase().startsWith('multipart/form-data')) return 'file_upload';
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (input.contentDisposition?.toLowerCase().startsWith('attachment')) return 'file_download';
      if (input.responseContentType && DOWNLOAD_TYPES.test(input.responseContentType)) return 'file_download';
      if (input.responseContentType?.toLowerCase().startsWith('text/html')) return 'page_view';
      // A redirect or a 304 carries no page of its own; a browser navigating still viewed one.
      if (statusCode >= 300 && statusCode < 400 && input.accept?.toLowerCase().includes('text/html')) return 'page_view';
      return 'data_view';
    case 'POST':
      return 'data_create';
    case 'PUT':
    case 'PATCH':
      return 'data_update';
    case 'DELETE':
      return 'data_delete';
    default:
      return 'system_action';
  }
}

/**
 * Housekeeping paths whatever answered them; otherwise a file no route handled, named as a static
 * file or answered as one (send, under express.static, sets Accept-Ranges), that is not a page.
 */
function isAsset(input: ClassifyInput): boolean {
  const { path } = input;
  if (HOUSEKEEPING.test(path)) return true;
  if (input.route !== null) return false;
  if (input.responseContentType?.toLowerCase().startsWith('text/html') && input.statusCode < 400) return false;
  return STATIC_FILE.test(path) || (input.statusCode < 400 && input.acceptRanges === 'bytes');
}

/** What was attempted, whatever the outcome: a failed login's action is still `login`. */
export function actionFor(type: ActivityType, method: string, statusCode?: number): string {
  // What the middleware can tell is a security event gets its name from the OWASP vocabulary.
  if (statusCode === 429) return SECURITY_EVENTS.EXCESS_RATE_LIMIT_EXCEEDED;
  switch (type) {
    case 'login':
      return SECURITY_EVENTS.AUTHN_LOGIN_SUCCESS;
    case 'login_failed':
      return SECURITY_EVENTS.AUTHN_LOGIN_FAIL;
    case 'logout':
      return 'logout';
    case 'token_refresh':
      return 'refresh';
    case 'file_upload':
      return 'upload';
    case 'file_download':
      return 'download';
    default:
      return actionForMethod(method);
  }
}

function actionForMethod(method: string): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return 'read';
    case 'POST':
      return 'create';
    case 'PUT':
    case 'PATCH':
      return 'update';
    case 'DELETE':
      return 'delete';
    default:
      return method.toLowerCase();
  }
}
