/** What each request's row holds and how it is classified: the capture options, their defaults and their checks. */
import { ACTIVITY_TYPES, type ActivityType, type TrackedRequest, type TrackedResponse } from '../types';
import { DEFAULT_SANITIZE_LIMITS, normalizeKey, type SanitizeLimits } from './sanitize';
import { trimSlash } from '../util/paths';
import {
  checkBoolean, checkFunction, envBoolean, invalid, isPlainObject, numberGroup, stringList,
} from '../util/optionChecks';

export interface CaptureOptions {
  /**
   * Capture sanitized params, query, body excerpt and selected headers. Environment:
   * `ENABLE_DETAILED_TRACKING`, read when the option is not given.
   * @default true
   */
  detailedTracking?: boolean;
  /**
   * Returns the signed-in user's id.
   * @default `req.user.id`, then `req.user.sub`, then a verified bearer token's `sub`
   */
  getUserId?: (req: TrackedRequest) => string | number | null | undefined;
  /**
   * Returns the tenant (organisation) a request belongs to; stored on its row and on events it records.
   * @default none
   */
  getTenantId?: (req: TrackedRequest) => string | number | null | undefined;
  /**
   * Last word on the activity type; receives the type the rules chose.
   * @default none
   */
  classify?: (req: TrackedRequest, res: TrackedResponse, suggested: ActivityType) => ActivityType | undefined;
  /**
   * Requests for which it returns true are not recorded.
   * @default none
   */
  skip?: (req: TrackedRequest) => boolean;
  /**
   * Activity type per route, keyed `'METHOD /pattern'` or `'/pattern'` (pattern as written in the app).
   * @default {}
   */
  routeActivityTypes?: Record<string, ActivityType>;
  /**
   * Paths whose POST is a login.
   * @default ['/login', '/signin', '/auth/login', '/auth/signin', '/api/login', '/api/auth/login',
   *   '/api/auth/signin', '/api/v1/auth/login', '/session', '/sessions']
   */
  loginPaths?: string[];
  /**
   * Paths that log out.
   * @default ['/logout', '/signout', '/auth/logout', '/auth/signout', '/api/logout', '/api/auth/logout',
   *   '/api/auth/signout', '/api/v1/auth/logout']
   */
  logoutPaths?: string[];
  /**
   * Paths that refresh a token.
   * @default ['/token/refresh', '/auth/refresh', '/api/auth/refresh', '/refresh', '/refresh-token',
   *   '/api/token/refresh', '/oauth/token', '/api/v1/auth/refresh']
   */
  tokenRefreshPaths?: string[];
  /**
   * Further key names to redact, matched like the built-in ones (case- and separator-insensitive, by containment).
   * @default []
   */
  sensitiveKeys?: string[];
  /**
   * On a failed login (`login_failed`) the route did not name an account for with
   * `req.activity.userId`, replace the values of `loginNameFields` in the body and the query with
   * `'[unknown account]'`: a name that is no account may be a password typed into the wrong field.
   * A failed login at an account the route recognised keeps the name.
   * @default false
   */
  dropUnknownLoginNames?: boolean;
  /**
   * The fields `dropUnknownLoginNames` empties, at any depth of the body and the query, matched as
   * whole keys, case- and separator-insensitive (`userName`, `user_name`, `user[email]` all match).
   * @default ['username', 'user', 'userid', 'login', 'loginid', 'email', 'emailaddress', 'account', 'accountname', 'identifier']
   */
  loginNameFields?: string[];
  /**
   * Bounds on `details`: nesting depth, keys per object (and items per array), characters per
   * string, and bytes of JSON in all.
   * @default { maxDepth: 6, maxKeys: 100, maxStringLength: 1024, maxTotalBytes: 16384 }
   */
  limits?: { maxDepth?: number; maxKeys?: number; maxStringLength?: number; maxTotalBytes?: number };
  /**
   * Request headers kept in `details.headers` (sanitized).
   * @default ['accept', 'accept-language', 'content-type', 'origin', 'referer', 'x-request-id', 'x-correlation-id']
   */
  headers?: string[];
  /**
   * Look up country, region and city of public IPs (geoip-lite, loaded on first use).
   * @default true
   */
  geo?: boolean;
}

export const CAPTURE_DEFAULTS = {
  detailedTracking: true,
  routeActivityTypes: {},
  loginPaths: [
    '/login', '/signin', '/auth/login', '/auth/signin', '/api/login', '/api/auth/login',
    '/api/auth/signin', '/api/v1/auth/login', '/session', '/sessions',
  ],
  logoutPaths: [
    '/logout', '/signout', '/auth/logout', '/auth/signout', '/api/logout', '/api/auth/logout',
    '/api/auth/signout', '/api/v1/auth/logout',
  ],
  tokenRefreshPaths: [
    '/token/refresh', '/auth/refresh', '/api/auth/refresh', '/refresh', '/refresh-token',
    '/api/token/refresh', '/oauth/token', '/api/v1/auth/refresh',
  ],
  sensitiveKeys: [],
  dropUnknownLoginNames: false,
  loginNameFields: ['username', 'user', 'userid', 'login', 'loginid', 'email', 'emailaddress', 'account', 'accountname', 'identifier'],
  limits: DEFAULT_SANITIZE_LIMITS,
  headers: ['accept', 'accept-language', 'content-type', 'origin', 'referer', 'x-request-id', 'x-correlation-id'],
  geo: true,
} as const satisfies { [K in keyof CaptureOptions]?: unknown };

export interface ResolvedCaptureOptions {
  detailedTracking: boolean;
  getUserId: CaptureOptions['getUserId'];
  getTenantId: CaptureOptions['getTenantId'];
  classify: CaptureOptions['classify'];
  skip: CaptureOptions['skip'];
  routeActivityTypes: ReadonlyMap<string, ActivityType>;
  loginPaths: ReadonlySet<string>;
  logoutPaths: ReadonlySet<string>;
  tokenRefreshPaths: ReadonlySet<string>;
  sensitiveKeys: readonly string[];
  dropUnknownLoginNames: boolean;
  /** Normalized as the sanitizer compares keys (normalizeKey). */
  loginNameFields: ReadonlySet<string>;
  limits: SanitizeLimits;
  headers: readonly string[];
  geo: boolean;
}

/** Highest value of each bound in `limits`. */
const MAX_LIMIT = 10_000_000;

export function resolveCaptureOptions(opts: CaptureOptions, env: NodeJS.ProcessEnv): ResolvedCaptureOptions {
  const detailedTracking = opts.detailedTracking ?? envBoolean(env, 'ENABLE_DETAILED_TRACKING', CAPTURE_DEFAULTS.detailedTracking);
  checkBoolean('detailedTracking', detailedTracking);
  for (const fn of ['getUserId', 'getTenantId', 'classify', 'skip'] as const) checkFunction(fn, opts[fn]);
  const routeActivityTypes = resolveRouteActivityTypes(opts.routeActivityTypes);
  // The one check of `limits`: createSanitizer takes the result as it is.
  const limits = numberGroup<SanitizeLimits>('limits', opts.limits, CAPTURE_DEFAULTS.limits, LIMIT_RANGES);
  const geo = opts.geo ?? CAPTURE_DEFAULTS.geo;
  checkBoolean('geo', geo);
  const dropUnknownLoginNames = opts.dropUnknownLoginNames ?? CAPTURE_DEFAULTS.dropUnknownLoginNames;
  checkBoolean('dropUnknownLoginNames', dropUnknownLoginNames);
  return {
    detailedTracking,
    getUserId: opts.getUserId,
    getTenantId: opts.getTenantId,
    classify: opts.classify,
    skip: opts.skip,
    routeActivityTypes,
    loginPaths: pathSet('loginPaths', opts.loginPaths, CAPTURE_DEFAULTS.loginPaths),
    logoutPaths: pathSet('logoutPaths', opts.logoutPaths, CAPTURE_DEFAULTS.logoutPaths),
    tokenRefreshPaths: pathSet('tokenRefreshPaths', opts.tokenRefreshPaths, CAPTURE_DEFAULTS.tokenRefreshPaths),
    sensitiveKeys: stringList('sensitiveKeys', opts.sensitiveKeys, CAPTURE_DEFAULTS.sensitiveKeys),
    dropUnknownLoginNames,
    loginNameFields: resolveLoginNameFields(opts.loginNameFields, dropUnknownLoginNames),
    limits,
    headers: stringList('headers', opts.headers, CAPTURE_DEFAULTS.headers).map((h) => h.toLowerCase()),
    geo,
  };
}

function resolveRouteActivityTypes(value: unknown): ReadonlyMap<string, ActivityType> {
  const types = new Map<string, ActivityType>();
  if (value === undefined) return types;
  if (!isPlainObject(value)) throw invalid('routeActivityTypes', value, "pass an object such as { 'POST /api/approve': 'data_update' }");
  for (const [key, type] of Object.entries(value)) {
    if (!(ACTIVITY_TYPES as readonly unknown[]).includes(type)) {
      throw invalid(`routeActivityTypes['${key}']`, type, `use one of ${ACTIVITY_TYPES.join(', ')}`);
    }
    types.set(normalizeRouteKey(key), type as ActivityType);
  }
  return types;
}

/** Route keys compare as `METHOD /path` with the method upper-cased and no trailing slash. */
function normalizeRouteKey(key: string): string {
  const match = /^\s*(?:([A-Za-z]+)\s+)?(\S+)\s*$/.exec(key);
  if (!match) throw invalid('routeActivityTypes', key, "write keys as 'METHOD /path' or '/path'");
  const path = trimSlash(match[2] ?? '');
  return match[1] ? `${match[1].toUpperCase()} ${path}` : path;
}

/** Each bound of `limits`: at least 1 (0 would keep nothing), at most ten million. */
const LIMIT_RANGES = {
  maxDepth: [1, MAX_LIMIT], maxKeys: [1, MAX_LIMIT], maxStringLength: [1, MAX_LIMIT], maxTotalBytes: [1, MAX_LIMIT],
} as const satisfies Record<keyof SanitizeLimits, readonly [number, number]>;

function resolveLoginNameFields(value: unknown, dropping: boolean): ReadonlySet<string> {
  const fields = new Set<string>();
  for (const field of stringList('loginNameFields', value, CAPTURE_DEFAULTS.loginNameFields)) {
    const normalized = normalizeKey(field);
    if (normalized === '') throw invalid('loginNameFields', field, "name a field with letters or digits, such as 'username'");
    fields.add(normalized);
  }
  // An empty list with the option on would keep every name while the app believes it drops them.
  if (dropping && fields.size === 0) {
    throw invalid('loginNameFields', value, "list the fields a login form sends its name in, such as ['username', 'email'], or leave it out for the default list");
  }
  return fields;
}

function pathSet(name: string, value: unknown, fallback: readonly string[]): ReadonlySet<string> {
  const list = stringList(name, value, fallback);
  for (const path of list) if (!path.startsWith('/')) throw invalid(name, path, 'write paths starting with /, such as /auth/login');
  return new Set(list.map((p) => trimSlash(p.toLowerCase())));
}
