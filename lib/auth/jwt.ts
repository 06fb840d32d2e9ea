import jwt from 'jsonwebtoken';

/** Only HMAC-SHA-256 is accepted with a shared secret: no `none`, no algorithm taken from the token. */
const PINNED_ALGORITHMS: jwt.Algorithm[] = ['HS256'];
const CLOCK_TOLERANCE_SECONDS = 30;

export function bearerToken(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const match = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(authorization);
  return match?.[1] ?? null;
}

/** Verified claims of a bearer token, or null when it is missing, unsigned, wrongly signed, expired or has no `exp`. */
export function verifyToken(token: string, secret: string): jwt.JwtPayload | null {
  try {
    const payload = jwt.verify(token, secret, { algorithms: PINNED_ALGORITHMS, clockTolerance: CLOCK_TOLERANCE_SECONDS });
    if (typeof payload !== 'object' || payload === null || typeof payload.exp !== 'number') return null;
    return payload;
  } catch {
    return null;
  }
}
