import type { ResolvedConfig } from '../config';
import type { ActivityEvent, ActivityType, RequestActivity, TrackedRequest, TrackedResponse } from '../types';
import { actionFor, classifyActivity } from './classify';
import { entityFromRoute } from './entity';
import { dropLoginNames } from './loginNames';
import type { GeoLocator } from './geo';
import { cleanId } from '../util/ids';
import { resolveTenantId, resolveUserId } from './identity';
import { isRouteSecret, sensitiveRouteValues, withoutValues } from './routeSecrets';
import { REDACTED, type Sanitizer } from './sanitize';
import type { SessionResolver, SessionStart } from './session';
import { MAX_USER_AGENT_LENGTH, type UserAgentParser } from './userAgent';
import { safeDecode, trimSlash } from '../util/paths';
import type { TokenVerifier } from '../auth/jwt';
import { warnDeprecated } from '../deprecations';

/** Everything capture needs, built once per tracker. */
export interface CaptureContext {
  config: ResolvedConfig;
  sanitizer: Sanitizer;
  userAgents: UserAgentParser;
  geo: GeoLocator;
  sessions: SessionResolver;
  /** Present when a JWT secret or public key is configured: the report routes' own token rules. */
  tokens: TokenVerifier | null;
  /** Reports a failure inside capture without letting it reach the host app. */
  report(where: string, error: unknown): void;
}

/** What the middleware read when the request started: enough to record a request the client abandoned. */
export interface RequestStart extends SessionStart {
  id: string;
  /** performance.now() at the start: monotonic, in milliseconds, and no BigInt to allocate. */
  startMonotonic: number;
  /** Node detaches the socket from the response before 'finish' listeners run, so it is kept here. */
  socket: { bytesWritten: number } | null;
  socketBytesWritten: number;
}

const MAX_PATH_LENGTH = 2048;
const MAX_ROUTE_LENGTH = 512;
const MAX_ACTION_LENGTH = 255;
const ABORTED_STATUS = 499;
/** Characters URLSearchParams changes: escapes, '+' for a space, and anything it re-encodes as UTF-8. */
const NEEDS_DECODING = /[%+\u0080-\uffff]/;

export function buildRequestEvent(ctx: CaptureContext, req: TrackedRequest, res: TrackedResponse, start: RequestStart, aborted: boolean): ActivityEvent {
  const { config, sanitizer } = ctx;
  const duration = performance.now() - start.startMonotonic;
  const method = req.method ?? 'GET';
  const url = req.originalUrl ?? req.url ?? '/';
  const queryAt = url.indexOf('?');
  const rawPath = queryAt === -1 ? url : url.slice(0, queryAt);
  const route = routePattern(req);
  const statusCode = statusAtEnd(res, aborted);
  const overrides = req.activity;
  // Read once: Express gives every request an object shape of its own, so each property read on
  // req misses V8's caches and costs a full lookup along its prototype chain.
  const headers = req.headers;

  if (overrides?.type !== undefined) warnDeprecated('AT_DEP_REQUEST_ACTIVITY_TYPE');
  let activityType: ActivityType = overrides?.activityType ?? overrides?.type ?? classifyActivity({
    method,
    path: trimSlash((rawPath.includes('%') ? safeDecode(rawPath) : rawPath).toLowerCase()),
    route,
    statusCode,
    requestContentType: headers['content-type'],
    accept: headers.accept,
    responseContentType: headerString(res.getHeader('content-type')),
    contentDisposition: headerString(res.getHeader('content-disposition')),
    acceptRanges: headerString(res.getHeader('accept-ranges')),
  }, config);
  if (config.classify) {
    try {
      activityType = config.classify(req, res, activityType) ?? activityType;
    } catch (error) {
      ctx.report('classify option', error);
    }
  }

  const params = req.params;
  const derived = entityFromRoute(route, rawPath, params, activityType);
  const entityType = overrides?.entityType !== undefined ? String(overrides.entityType) : derived.entityType;
  // A route such as /password-resets/:token carries a secret in the path: path and entity id lose it too.
  const routeSecrets = sensitiveRouteValues(sanitizer, route, rawPath, params);
  const entityId = overrides?.entityId !== undefined ? String(overrides.entityId)
    : isRouteSecret(routeSecrets, derived.entityId) ? REDACTED : derived.entityId;

  let userId: string | null = overrides?.userId !== undefined ? cleanId(overrides.userId) : null;
  // Only the route knows which account a failed login tried; a signed-in user's id says nothing of the name typed.
  const accountNamedByRoute = userId !== null && userId !== '';
  try {
    if (userId === null) userId = resolveUserId(req, config, ctx.tokens);
  } catch (error) {
    ctx.report('getUserId option', error);
  }

  let tenantId: string | null = overrides?.tenantId !== undefined ? cleanId(overrides.tenantId) : null;
  try {
    if (tenantId === null) tenantId = resolveTenantId(req, config);
  } catch (error) {
    ctx.report('getTenantId option', error);
  }

  const agent = ctx.userAgents.parse(start.userAgent);
  const details = requestDetails(ctx, { req, headers, params, custom: overrides?.details }, url, queryAt, aborted);
  if (details !== null && activityType === 'login_failed' && config.dropUnknownLoginNames && !accountNamedByRoute) {
    dropLoginNames(details['body'], config.loginNameFields);
    dropLoginNames(details['query'], config.loginNameFields);
  }
  const requestLength = Number(headers['content-length']);

  const event: ActivityEvent = {
    id: start.id,
    userId,
    sessionId: ctx.sessions.atEnd(req, res, start, userId),
    activityType,
    entityType: entityType === null ? null : sanitizer.text(entityType),
    entityId: entityId === null ? null : sanitizer.text(entityId),
    action: overrides?.action !== undefined ? sanitizer.text(String(overrides.action).slice(0, MAX_ACTION_LENGTH)) : actionFor(activityType, method, statusCode),
    details,
    ipAddress: start.ip,
    userAgent: start.userAgent === null ? null : agent.storedText ??= sanitizer.text(start.userAgent.slice(0, MAX_USER_AGENT_LENGTH)),
    browser: agent.browser,
    operatingSystem: agent.operatingSystem,
    deviceInfo: agent.deviceInfo,
    location: ctx.geo.locate(start.ip),
    duration,
    startTime: start.startedAt,
    endTime: start.startedAt + duration,
    method,
    path: sanitizer.text(withoutValues(rawPath, routeSecrets, REDACTED).slice(0, MAX_PATH_LENGTH)),
    route: route === null ? null : route.slice(0, MAX_ROUTE_LENGTH),
    statusCode,
    success: !aborted && statusCode < 400 && activityType !== 'login_failed' && activityType !== 'error',
    requestSize: Number.isSafeInteger(requestLength) && requestLength >= 0 ? Math.min(requestLength, 2 ** 31 - 1) : null,
    responseSize: responseBodySize(method, res, start, statusCode),
  };
  // Set after the literal rather than spread into it: a spread copies the whole object again.
  if (tenantId !== null) event.tenantId = tenantId;
  return event;
}

/** The status a request ended with; 499, as nginx has it, when the client left before any answer. */
export function statusAtEnd(res: TrackedResponse, aborted: boolean): number {
  return aborted && !res.headersSent ? ABORTED_STATUS : res.statusCode;
}

/** What buildRequestEvent already read from the request, handed on rather than read again. */
interface RequestParts {
  req: TrackedRequest;
  headers: TrackedRequest['headers'];
  params: TrackedRequest['params'];
  /** req.activity.details: what the route said about the request. */
  custom: RequestActivity['details'];
}

function requestDetails(ctx: CaptureContext, parts: RequestParts, url: string, queryAt: number, aborted: boolean): Record<string, unknown> | null {
  const { config, sanitizer } = ctx;
  const { req, headers, params, custom } = parts;
  if (!config.detailedTracking) {
    // What the route itself said about the request (the report routes' reader, role and filters)
    // is not request detail: it stays when detailed tracking is off.
    if (!custom) return aborted ? { aborted: true } : null;
    const { value, truncated } = sanitizer.value({ custom });
    const details = value as Record<string, unknown>;
    if (truncated) details['truncated'] = true;
    if (aborted) details['aborted'] = true;
    return details;
  }

  const raw: Record<string, unknown> = {};
  let empty = true;
  if (params && hasKeys(params)) { raw['params'] = params; empty = false; }
  if (queryAt !== -1) { raw['query'] = parseQuery(url.slice(queryAt + 1), sanitizer); empty = false; }
  // Whether a body object has keys is left to the sanitizer: asking V8 lists every key of it
  // (100,000 in a hostile body), and the sanitizer lists them once anyway.
  if (req.body !== undefined) { raw['body'] = req.body; empty = false; }
  const files = uploadedFiles(req);
  if (files) { raw['files'] = files; empty = false; }
  let kept: Record<string, unknown> | undefined;
  for (const name of config.headers) {
    const value = headers[name];
    if (value !== undefined) (kept ??= {})[name] = value;
  }
  if (kept) { raw['headers'] = kept; empty = false; }
  if (custom) { raw['custom'] = custom; empty = false; }
  if (empty) return aborted ? { aborted: true } : null;

  const { value, truncated } = sanitizer.value(raw);
  const details = value as Record<string, unknown>;
  if (isEmptyRecord(details['body'])) {
    delete details['body'];
    if (isEmptyRecord(details)) return aborted ? { aborted: true } : null;
  }
  if (truncated) details['truncated'] = true;
  if (aborted) details['aborted'] = true;
  return details;
}

/** On sanitized output only: it holds at most maxKeys keys. */
function isEmptyRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

/**
 * Express keeps the matched route on req.route, but a mounted router leaves only the base URL it
 * actually matched (`/users/u1`), not its pattern. Segments of it that equal a param the route saw
 * (routers with mergeParams) are turned back into `:name`.
 */
function routePattern(req: TrackedRequest): string | null {
  const path = req.route?.path;
  if (typeof path !== 'string') return null;
  const base = req.baseUrl ?? '';
  const joined = `${base === '' ? '' : patternOfBase(base, req.params, path)}${path}`;
  return joined === '' ? '/' : trimSlash(joined);
}

function patternOfBase(base: string, params: Record<string, unknown> | undefined, routePath: string): string {
  if (!params) return base;
  const inherited = Object.entries(params).filter(([name, value]) => typeof value === 'string' && value !== '' && !routePath.includes(`:${name}`));
  if (inherited.length === 0) return base;
  return base.split('/').map((segment) => {
    const match = inherited.find(([, value]) => value === safeDecode(segment));
    return match ? `:${match[0]}` : segment;
  }).join('/');
}

/**
 * The raw query string, parsed the same way whichever query parser the app configured. Names that
 * hold a credential only as URL parameters (sig, X-Amz-Signature, OAuth code, key) lose their value here.
 */
function parseQuery(query: string, sanitizer: Sanitizer): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  if (NEEDS_DECODING.test(query)) {
    for (const [key, raw] of new URLSearchParams(query)) addParam(result, key, raw, sanitizer);
    return result;
  }
  // Nothing to decode: each pair is the text between '&'s, split at its first '=', exactly as
  // URLSearchParams would give it (a leading '?' dropped, as it does), without its iterator and pair arrays.
  let from = query.charCodeAt(0) === 0x3f ? 1 : 0;
  while (from < query.length) {
    let end = query.indexOf('&', from);
    if (end === -1) end = query.length;
    if (end > from) {
      const equals = query.indexOf('=', from);
      const named = equals !== -1 && equals < end;
      addParam(result, query.slice(from, named ? equals : end), named ? query.slice(equals + 1, end) : '', sanitizer);
    }
    from = end + 1;
  }
  return result;
}


function addParam(result: Record<string, string | string[]>, key: string, raw: string, sanitizer: Sanitizer): void {
  const value = sanitizer.isSensitiveParam(key) ? REDACTED : raw;
  const existing = result[key];
  if (existing === undefined) result[key] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else result[key] = [existing, value];
}

/** Names and sizes of files a multipart parser such as multer attached; never their content. */
function uploadedFiles(req: TrackedRequest): unknown[] | null {
  const { file, files } = req as { file?: unknown; files?: unknown };
  if (file === undefined && files === undefined) return null;
  const list = [file, ...(Array.isArray(files) ? files : files && typeof files === 'object' ? Object.values(files).flat() : [])]
    .filter((f): f is Record<string, unknown> => typeof f === 'object' && f !== null);
  if (list.length === 0) return null;
  return list.map((f) => ({ field: f['fieldname'], name: f['originalname'] ?? f['name'], type: f['mimetype'], size: f['size'] }));
}

/**
 * Body bytes sent: Content-Length when the response had one; none for responses that carry no
 * body; otherwise the bytes written to the socket for this response less its header block (chunked
 * responses then include their chunk framing, a few bytes per chunk).
 */
function responseBodySize(method: string, res: TrackedResponse, start: RequestStart, statusCode: number): number | null {
  if (method === 'HEAD' || statusCode === 204 || statusCode === 304) return 0;
  const declared = Number(res.getHeader('content-length'));
  if (Number.isSafeInteger(declared) && declared >= 0 && res.hasHeader('content-length')) return Math.min(declared, 2 ** 31 - 1);
  const after = start.socket?.bytesWritten;
  if (typeof after !== 'number' || after < start.socketBytesWritten) return null;
  const header = (res as { _header?: unknown })._header;
  const headerBytes = typeof header === 'string' ? Buffer.byteLength(header) : 0;
  return Math.max(0, Math.min(after - start.socketBytesWritten - headerBytes, 2 ** 31 - 1));
}

function headerString(value: number | string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value === undefined ? undefined : String(value);
}

function hasKeys(value: object): boolean {
  for (const _ in value) return true;
  return false;
}
