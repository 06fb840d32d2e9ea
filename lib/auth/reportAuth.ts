import type { ResolvedConfig } from '../config';
import { ActivityTrackingError } from '../errors';
import type { ReportPrincipal, TrackedRequest } from '../types';
import { EVERY_TENANT, tenantOnly, type TenantScope } from '../store/reports/tenantScope';
import { cleanId } from '../util/ids';
import { bearerToken, createTokenVerifier, subjectOf, type TokenFailure, type TokenVerifier } from './jwt';

/** Why a caller was turned away with 401; stored in the `authz_fail` row. */
export type AuthFailure = TokenFailure | 'missing_token' | 'missing_subject' | 'not_authorized';

export type AuthResult = { ok: true; principal: ReportPrincipal } | { ok: false; reason: AuthFailure };

export type ReportAuthenticator = (req: TrackedRequest) => Promise<AuthResult>;

/** Roles that may read every report route; the first two may also do everything else. */
export const ADMIN_ROLES: ReadonlySet<string> = new Set(['system_admin', 'admin']);
export const READER_ROLES: ReadonlySet<string> = new Set(['system_admin', 'admin', 'auditor', 'manager']);
/** Roles of the platform operator: they read every tenant, whatever tenant their token names. */
export const PLATFORM_ROLES: ReadonlySet<string> = new Set(['system_admin']);
/** Token claims that name the caller's tenant, in the order they are looked for. */
export const TENANT_CLAIMS = ['tenantId', 'tenant_id', 'tid'] as const;

/**
 * Whose rows a report reader may read: a platform role every tenant; a caller with a tenant only
 * that tenant's; a caller without one every tenant when tenants are optional, and nothing (null:
 * refuse with 403) when they are required.
 */
export function tenantScopeOf(principal: ReportPrincipal, tenants: 'required' | 'optional'): TenantScope | null {
  if (PLATFORM_ROLES.has(principal.role)) return EVERY_TENANT;
  const tenantId = principal.tenantId ?? null;
  if (tenantId !== null && tenantId !== '') return tenantOnly(tenantId);
  return tenants === 'required' ? null : EVERY_TENANT;
}

/**
 * Who is calling the report routes: the app's `authorize(req)` when given, else a bearer JWT whose
 * algorithm is pinned by configuration (HS256 with the secret, or the one public-key algorithm),
 * with `exp` required and `iss`/`aud` checked when configured. Throws at start-up when none is set.
 */
export function createReportAuthenticator(config: ResolvedConfig): ReportAuthenticator {
  const { authorize } = config;
  if (authorize) {
    return async (req) => {
      const principal = await authorize(req);
      if (principal === null || principal === undefined) return { ok: false, reason: 'not_authorized' };
      if (typeof principal !== 'object' || typeof principal.userId !== 'string' || principal.userId === '' || typeof principal.role !== 'string') {
        throw new ActivityTrackingError('ERR_AT_INVALID_OPTION', 'authorize(req) must return { userId: string, role: string, tenantId? } or null');
      }
      return { ok: true, principal: { userId: cleanId(principal.userId), role: principal.role, tenantId: tenantText(principal.tenantId) } };
    };
  }
  const tokens = createTokenVerifier(config);
  if (tokens === null) {
    throw new ActivityTrackingError('ERR_AT_REPORT_AUTH_MISSING',
      'The report routes need a way to know who is calling. Fix: set ACTIVITY_JWT_SECRET (or the jwtSecret option) for HS256 bearer tokens, '
      + 'jwtPublicKey with jwtAlgorithm for RS256/ES256 tokens, or an authorize(req) option for apps with their own auth');
  }
  return (req) => Promise.resolve(verifyBearer(req.headers.authorization, tokens));
}

function verifyBearer(authorization: string | undefined, tokens: TokenVerifier): AuthResult {
  if (authorization === undefined || authorization === '') return { ok: false, reason: 'missing_token' };
  const token = bearerToken(authorization);
  if (token === null) return { ok: false, reason: 'malformed_token' };
  const checked = tokens.verify(token);
  if (!checked.ok) return checked;
  const { claims } = checked;
  const subject = subjectOf(claims);
  if (subject === null) return { ok: false, reason: 'missing_subject' };
  const role = typeof claims['role'] === 'string' ? claims['role'] : '';
  const tenant = TENANT_CLAIMS.map((claim) => tenantText(claims[claim])).find((value) => value !== null) ?? null;
  return { ok: true, principal: { userId: cleanId(subject), role, tenantId: tenant } };
}

/**
 * A tenant claim as text, cleaned as capture cleans the tenant ids it stores, so a scope compares
 * equal to the rows it covers; anything but a non-empty string or a number is no tenant.
 */
function tenantText(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value !== '' ? cleanId(value) : null;
}
