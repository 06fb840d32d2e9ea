import type { ResolvedConfig } from '../config';
import type { TrackedRequest } from '../types';
import { bearerToken, subjectOf, type TokenVerifier } from '../auth/jwt';
import { cleanId } from '../util/ids';

/**
 * Who made the request, read when the response ends so that auth middleware mounted after the
 * tracker has had its turn. A bearer token names a user only when it passes the report routes'
 * own checks (the same TokenVerifier rules). The id is cleaned like every recorded id.
 */
export function resolveUserId(req: TrackedRequest, config: Pick<ResolvedConfig, 'getUserId'>, tokens: TokenVerifier | null): string | null {
  if (config.getUserId) {
    const id = config.getUserId(req);
    if (id !== undefined && id !== null && id !== '') return cleanId(id);
  }
  const user = req.user;
  if (typeof user === 'object' && user !== null) {
    const { id, sub } = user as { id?: unknown; sub?: unknown };
    if (isIdLike(id)) return cleanId(id);
    if (isIdLike(sub)) return cleanId(sub);
  }
  if (tokens) {
    const token = bearerToken(req.headers.authorization);
    if (token) {
      const checked = tokens.verify(token);
      const subject = checked.ok ? subjectOf(checked.claims) : null;
      if (subject !== null) return cleanId(subject);
    }
  }
  return null;
}

function isIdLike(value: unknown): value is string | number {
  return (typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value));
}

/** The tenant a request belongs to, from the getTenantId option (none without it). */
export function resolveTenantId(req: TrackedRequest, config: Pick<ResolvedConfig, 'getTenantId'>): string | null {
  if (!config.getTenantId) return null;
  const id = config.getTenantId(req);
  if (id === undefined || id === null || id === '') return null;
  if (typeof id !== 'string' && typeof id !== 'number') return null;
  return cleanId(id);
}
