import jwt from 'jsonwebtoken';
import type { ResolvedConfig } from '../config';
import { RecentCache } from '../util/recentCache';

const MAX_CACHED_TOKEN_LENGTH = 4096;

export function bearerToken(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const match = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(authorization);
  return match?.[1] ?? null;
}

/** Why a token was refused; the report routes store it in the `authz_fail` row. */
export type TokenFailure = 'malformed_token' | 'bad_signature' | 'unsigned_token' | 'expired_token'
  | 'missing_exp' | 'wrong_issuer' | 'wrong_audience' | 'not_yet_valid';

export type TokenCheck = { ok: true; claims: jwt.JwtPayload } | { ok: false; reason: TokenFailure };

/** What a bearer token must satisfy, taken from the options once. */
export interface TokenRules {
  key: string;
  /** The one algorithm accepted: HS256 with a shared secret, or the configured public-key algorithm. Never read from the token. */
  algorithm: jwt.Algorithm;
  issuer: string | undefined;
  audience: string | undefined;
  clockToleranceSeconds: number;
}

/** The token rules the options give, or null when no secret or public key is configured. */
export function tokenRulesOf(config: Pick<ResolvedConfig, 'jwtSecret' | 'jwtPublicKey' | 'jwtAlgorithm' | 'jwtIssuer' | 'jwtAudience' | 'jwtClockToleranceSeconds'>): TokenRules | null {
  const key = config.jwtPublicKey ?? config.jwtSecret;
  if (key === undefined || key === '') return null;
  return {
    key,
    algorithm: config.jwtPublicKey !== undefined ? (config.jwtAlgorithm ?? 'RS256') : 'HS256',
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    clockToleranceSeconds: config.jwtClockToleranceSeconds,
  };
}

/** A verifier for the configured rules, or null when tokens cannot be verified at all. */
export function createTokenVerifier(config: Parameters<typeof tokenRulesOf>[0]): TokenVerifier | null {
  // One verifier per configuration: capture and the report routes then share its cache, so a report
  // request's token has its signature checked once, not once by each.
  const known = verifiers.get(config);
  if (known !== undefined) return known;
  const rules = tokenRulesOf(config);
  const verifier = rules === null ? null : new TokenVerifier(rules);
  verifiers.set(config, verifier);
  return verifier;
}
const verifiers = new WeakMap<object, TokenVerifier | null>();

/** The user a verified token names: `sub`, else a `userId` claim; null when neither is a non-empty string or a number. */
export function subjectOf(claims: jwt.JwtPayload): string | null {
  const subject: unknown = claims.sub ?? claims['userId'];
  if (typeof subject === 'number' && Number.isFinite(subject)) return String(subject);
  return typeof subject === 'string' && subject !== '' ? subject : null;
}

/** What does not change with the clock: the signature check and the claims that passed it. */
interface Checked {
  /** The token's claims once its signature verified (also when its issuer or audience is wrong); null otherwise. */
  claims: jwt.JwtPayload | null;
  failure: TokenFailure | null;
}

/**
 * The one check every bearer token goes through, for the report routes and for naming the user in
 * capture alike: pinned algorithm, `exp` required, `nbf` honoured, `iss`/`aud` checked when
 * configured, the configured clock tolerance. A client sends the same token on every request, so
 * the signature check is remembered per token; the clock checks run on every call, in the order
 * jsonwebtoken runs them (nbf, exp, then audience and issuer), so a remembered token expires on time.
 */
export class TokenVerifier {
  private readonly checked = new RecentCache<string, Checked>(1000);
  private readonly options: jwt.VerifyOptions;

  constructor(private readonly rules: TokenRules) {
    this.options = {
      algorithms: [rules.algorithm],
      ignoreExpiration: true,
      ignoreNotBefore: true,
      ...(rules.issuer !== undefined ? { issuer: rules.issuer } : {}),
      ...(rules.audience !== undefined ? { audience: rules.audience } : {}),
    };
  }

  verify(token: string, nowMs = Date.now()): TokenCheck {
    let entry = this.checked.get(token);
    if (entry === undefined) {
      entry = this.check(token);
      // Real tokens are far shorter; a huge one is checked each time rather than held in memory.
      if (token.length <= MAX_CACHED_TOKEN_LENGTH) this.checked.set(token, entry);
    }
    const { claims, failure } = entry;
    if (claims !== null) {
      // As jsonwebtoken counts: whole seconds, expired once now >= exp + tolerance.
      const now = Math.floor(nowMs / 1000);
      const tolerance = this.rules.clockToleranceSeconds;
      const { nbf, exp } = claims;
      if (nbf !== undefined && typeof nbf !== 'number') return { ok: false, reason: 'malformed_token' };
      if (nbf !== undefined && nbf > now + tolerance) return { ok: false, reason: 'not_yet_valid' };
      if (exp !== undefined && typeof exp !== 'number') return { ok: false, reason: 'malformed_token' };
      if (exp !== undefined && now >= exp + tolerance) return { ok: false, reason: 'expired_token' };
    }
    if (failure !== null) return { ok: false, reason: failure };
    if (claims === null) return { ok: false, reason: 'malformed_token' };
    if (typeof claims.exp !== 'number') return { ok: false, reason: 'missing_exp' };
    return { ok: true, claims };
  }

  private check(token: string): Checked {
    if (token.split('.').length !== 3) return { claims: null, failure: 'malformed_token' };
    try {
      const payload = jwt.verify(token, this.rules.key, this.options);
      return typeof payload === 'object' && payload !== null ? { claims: payload, failure: null } : { claims: null, failure: 'malformed_token' };
    } catch (error) {
      const failure = failureOf(error, token);
      // Issuer and audience are checked after the signature: the claims are genuine, and the clock
      // checks still come first, as they would in jsonwebtoken.
      const decoded = failure === 'wrong_issuer' || failure === 'wrong_audience' ? jwt.decode(token) : null;
      return { claims: typeof decoded === 'object' && decoded !== null ? decoded : null, failure };
    }
  }
}

function failureOf(error: unknown, token: string): TokenFailure {
  const message = error instanceof Error ? error.message : '';
  if (/jwt issuer invalid/.test(message)) return 'wrong_issuer';
  if (/jwt audience invalid/.test(message)) return 'wrong_audience';
  if (/jwt signature is required/.test(message) || token.endsWith('.')) return 'unsigned_token';
  if (/invalid signature|invalid algorithm/.test(message)) return 'bad_signature';
  return 'malformed_token';
}
