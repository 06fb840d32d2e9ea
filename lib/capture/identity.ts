import type { ResolvedConfig } from '../config';
import type { TrackedRequest } from '../types';
import { bearerToken, type TokenVerifier } from '../auth/jwt';

const MAX_USER_ID_LENGTH = 255;

/**
 * Who made the request, read when the response ends so that auth middleware mounted after the
 * tracker has had its turn. A token that does not verify never names a user.
 */
export function resolveUserId(req: TrackedRequest, config: Pick<ResolvedConfig, 'getUserId'>, tokens: TokenVerifier | null): string | null {
  if (config.getUserId) {
    const id = config.getUserId(req);
    if (id !== undefined && id !== null && id !== '') return toUserId(id);
  }
  const user = req.user;
  if (typeof user === 'object' && user !== null) {
    const { id, sub } = user as { id?: unknown; sub?: unknown };
    if (isIdLike(id)) return toUserId(id);
    if (isIdLike(sub)) return toUserId(sub);
  }
  if (tokens) {
    const token = bearerToken(req.headers.authorization);
    if (token) {
      const claims = tokens.verify(token);
      if (claims && isIdLike(claims.sub)) return toUserId(claims.sub);
    }
  }
  return null;
}

function isIdLike(value: unknown): value is string | number {
  return (typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value));
}

function toUserId(id: string | number): string {
  return String(id).slice(0, MAX_USER_ID_LENGTH);
}

/** The tenant a request belongs to, from the getTenantId option (none without it). */
export function resolveTenantId(req: TrackedRequest, config: Pick<ResolvedConfig, 'getTenantId'>): string | null {
  if (!config.getTenantId) return null;
  const id = config.getTenantId(req);
  if (id === undefined || id === null || id === '') return null;
  if (typeof id !== 'string' && typeof id !== 'number') return null;
  return String(id).slice(0, MAX_USER_ID_LENGTH);
}
