import jwt from 'jsonwebtoken';
import { LruCache } from '../capture/lru';

/** Only HMAC-SHA-256 is accepted with a shared secret: no `none`, no algorithm taken from the token. */
const PINNED_ALGORITHMS: jwt.Algorithm[] = ['HS256'];
const CLOCK_TOLERANCE_SECONDS = 30;

export function bearerToken(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const match = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(authorization);
  return match?.[1] ?? null;
}

/**
 * Verifies bearer tokens, remembering recent results: a client sends the same token on every
 * request, and a signature check per request would be work done again. A remembered token is still
 * held to its `exp`.
 */
export class TokenVerifier {
  private readonly verified = new LruCache<string, jwt.JwtPayload | null>(1000);

  constructor(private readonly secret: string) {}

  /** Verified claims, or null when the token is unsigned, wrongly signed, expired, not yet valid or has no `exp`. */
  verify(token: string, nowMs = Date.now()): jwt.JwtPayload | null {
    let claims = this.verified.get(token);
    if (claims === undefined) {
      claims = verifyToken(token, this.secret);
      this.verified.set(token, claims);
    }
    if (claims === null || typeof claims.exp !== 'number') return null;
    return claims.exp + CLOCK_TOLERANCE_SECONDS > nowMs / 1000 ? claims : null;
  }
}

function verifyToken(token: string, secret: string): jwt.JwtPayload | null {
  try {
    const payload = jwt.verify(token, secret, { algorithms: PINNED_ALGORITHMS, clockTolerance: CLOCK_TOLERANCE_SECONDS });
    if (typeof payload !== 'object' || payload === null || typeof payload.exp !== 'number') return null;
    return payload;
  } catch {
    return null;
  }
}
