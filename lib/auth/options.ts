/** Who a bearer token names and who may read the reports: the auth options, their defaults and their checks. */
import type { ReportPrincipal, TrackedRequest } from '../types';
import type { CaptureOptions } from '../capture/options';
import { checkFunction, checkInteger, HIDDEN, invalid, optionOrEnv } from '../util/optionChecks';

export interface AuthOptions {
  /**
   * HS256 secret that bearer tokens are verified with. Environment: `ACTIVITY_JWT_SECRET`, read when
   * the option is not given.
   * @default none (tokens never name a user)
   */
  jwtSecret?: string;
  /**
   * Public key (PEM) that bearer tokens are verified with, instead of `jwtSecret`, by the report
   * routes and by capture alike. Requires `jwtAlgorithm`.
   * @default none
   */
  jwtPublicKey?: string;
  /**
   * The one algorithm `jwtPublicKey` tokens must be signed with: `'RS256'` or `'ES256'`.
   * @default none
   */
  jwtAlgorithm?: 'RS256' | 'ES256';
  /**
   * Required `iss` claim of bearer tokens (report routes and capture).
   * @default not checked
   */
  jwtIssuer?: string;
  /**
   * Required `aud` claim of bearer tokens (report routes and capture).
   * @default not checked
   */
  jwtAudience?: string;
  /**
   * Seconds of clock skew allowed on bearer tokens' `exp` and `nbf` (report routes and capture).
   * @default 5
   */
  jwtClockToleranceSeconds?: number;
  /**
   * Decides who is calling the report routes, for apps with their own auth; replaces bearer tokens.
   * Return `null` for an anonymous caller (401).
   * @default none (bearer tokens are used)
   */
  authorize?: (req: TrackedRequest) => ReportPrincipal | null | undefined | Promise<ReportPrincipal | null | undefined>;
  /**
   * Whether report readers must belong to a tenant. `'required'`: a caller whose role is not
   * `system_admin` and whose token (or `authorize(req)` principal) carries no tenant is refused
   * (403) on every report route but `/me/*`. `'optional'`: such a caller reads every tenant, as in
   * an app without tenants. A caller with a tenant always reads only that tenant's rows (and
   * activities about entities it owns); `system_admin` always reads every tenant.
   * @default `'required'` when `getTenantId` is set, else `'optional'`
   */
  tenants?: 'required' | 'optional';
}

export const AUTH_DEFAULTS = {
  jwtClockToleranceSeconds: 5,
} as const satisfies { [K in keyof AuthOptions]?: unknown };

export interface ResolvedAuthOptions {
  jwtSecret: string | undefined;
  jwtPublicKey: string | undefined;
  jwtAlgorithm: 'RS256' | 'ES256' | undefined;
  jwtIssuer: string | undefined;
  jwtAudience: string | undefined;
  jwtClockToleranceSeconds: number;
  authorize: AuthOptions['authorize'];
  tenants: 'required' | 'optional';
}

/** `getTenantId` decides the default of `tenants`: an app with tenants requires them of report readers. */
export function resolveAuthOptions(opts: AuthOptions & Pick<CaptureOptions, 'getTenantId'>, env: NodeJS.ProcessEnv): ResolvedAuthOptions {
  const { name: secretName, value: jwtSecret } = optionOrEnv('jwtSecret', opts.jwtSecret, env, 'ACTIVITY_JWT_SECRET');
  if (jwtSecret !== undefined && (typeof jwtSecret !== 'string' || jwtSecret.length < 16)) {
    throw invalid(secretName, HIDDEN, 'use a random secret of at least 16 characters (32 or more recommended)');
  }
  const { jwtPublicKey, jwtAlgorithm, jwtIssuer, jwtAudience } = opts;
  if (jwtPublicKey !== undefined && (typeof jwtPublicKey !== 'string' || !jwtPublicKey.includes('-----BEGIN'))) {
    throw invalid('jwtPublicKey', typeof jwtPublicKey === 'string' ? `${jwtPublicKey.slice(0, 20)}…` : jwtPublicKey, 'pass the PEM text of the public key, starting with -----BEGIN PUBLIC KEY-----');
  }
  if (jwtAlgorithm !== undefined && jwtAlgorithm !== 'RS256' && jwtAlgorithm !== 'ES256') {
    throw invalid('jwtAlgorithm', jwtAlgorithm, "use 'RS256' or 'ES256' (HS256 is what jwtSecret uses)");
  }
  if ((jwtPublicKey === undefined) !== (jwtAlgorithm === undefined)) {
    throw invalid(jwtPublicKey === undefined ? 'jwtAlgorithm' : 'jwtPublicKey', jwtPublicKey === undefined ? jwtAlgorithm : 'a key',
      'give jwtPublicKey and jwtAlgorithm together: the algorithm is pinned, never read from the token');
  }
  for (const [name, value] of [['jwtIssuer', jwtIssuer], ['jwtAudience', jwtAudience]] as const) {
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw invalid(name, value, 'pass a non-empty string or leave it out');
  }
  const jwtClockToleranceSeconds = opts.jwtClockToleranceSeconds ?? AUTH_DEFAULTS.jwtClockToleranceSeconds;
  checkInteger('jwtClockToleranceSeconds', jwtClockToleranceSeconds, 0, 300);
  checkFunction('authorize', opts.authorize);
  const tenants = opts.tenants ?? (opts.getTenantId !== undefined ? 'required' : 'optional');
  if (tenants !== 'required' && tenants !== 'optional') {
    throw invalid('tenants', tenants, "use 'required' (report readers other than system_admin need a tenant claim) or 'optional'");
  }
  return { jwtSecret, jwtPublicKey, jwtAlgorithm, jwtIssuer, jwtAudience, jwtClockToleranceSeconds, authorize: opts.authorize, tenants };
}
