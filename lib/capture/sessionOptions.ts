/** How requests are grouped into sessions: the session options, their defaults and their checks. */
import { checkInteger, envInteger, HIDDEN, invalid, isPlainObject, optionOrEnv, unknownOption } from '../util/optionChecks';

export interface SessionOptions {
  /**
   * Minutes of inactivity before a session ends. Environment: `SESSION_TIMEOUT`, read when the
   * option is not given.
   * @default 30
   */
  sessionTimeoutMinutes?: number;
  /**
   * The package's own session cookie, for apps without express-session: `<session id>.<HMAC>`,
   * signed with a key derived from `sessionSecret`; a cookie that does not verify is ignored.
   * `false` sets none.
   * @default { name: 'activity_sid' }
   */
  sessionCookie?: false | { name?: string };
  /**
   * Secret (16+ characters) the session cookie's signature and the keyed hash of IP and user agent
   * that recognizes a cookie-less client are derived from. Give every process of an app the same
   * one (or the same data folder) so each accepts the others' cookies. Environment:
   * `ACTIVITY_SESSION_SECRET`, read when the option is not given.
   * @default a random key generated once and kept (0600) in `<dataDir>/session-key`, on PostgreSQL too
   */
  sessionSecret?: string;
}

export const SESSION_DEFAULTS = {
  sessionTimeoutMinutes: 30,
  sessionCookie: { name: 'activity_sid' },
} as const satisfies { [K in keyof SessionOptions]?: unknown };

export interface ResolvedSessionOptions {
  sessionTimeoutMinutes: number;
  sessionCookie: { name: string } | false;
  sessionSecret: string | undefined;
}

export function resolveSessionOptions(opts: SessionOptions, env: NodeJS.ProcessEnv): ResolvedSessionOptions {
  const sessionTimeoutMinutes = opts.sessionTimeoutMinutes ?? envInteger(env, 'SESSION_TIMEOUT', SESSION_DEFAULTS.sessionTimeoutMinutes, 1);
  checkInteger('sessionTimeoutMinutes', sessionTimeoutMinutes, 1, 525600);
  return { sessionTimeoutMinutes, sessionCookie: resolveSessionCookie(opts.sessionCookie), sessionSecret: resolveSessionSecret(opts, env) };
}

function resolveSessionCookie(value: unknown): ResolvedSessionOptions['sessionCookie'] {
  if (value === false) return false;
  if (value === undefined) return { ...SESSION_DEFAULTS.sessionCookie };
  if (!isPlainObject(value)) throw invalid('sessionCookie', value, "pass false or { name: 'activity_sid' }");
  for (const key of Object.keys(value)) if (key !== 'name') throw unknownOption(`sessionCookie.${key}`, ['sessionCookie.name']);
  const name = value['name'] ?? SESSION_DEFAULTS.sessionCookie.name;
  if (typeof name !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    throw invalid('sessionCookie.name', name, 'use a cookie name made of letters, digits, - and _');
  }
  return { name };
}

/** The key the session cookie is signed with comes from it; without one, a key kept under dataDir. */
function resolveSessionSecret(opts: SessionOptions, env: NodeJS.ProcessEnv): string | undefined {
  const { name, value: secret } = optionOrEnv<unknown>('sessionSecret', opts.sessionSecret, env, 'ACTIVITY_SESSION_SECRET');
  if (secret === undefined) return undefined;
  if (typeof secret !== 'string') throw invalid(name, HIDDEN, `it is ${secret === null ? 'null' : `a ${typeof secret}`}; pass a string of at least 16 random characters, e.g. from \`openssl rand -base64 32\`, or leave it out to keep a generated key under dataDir`);
  if (secret.length < 16) throw invalid(name, HIDDEN, `it has ${secret.length} characters; use at least 16 random characters (32 or more recommended), e.g. from \`openssl rand -base64 32\``);
  return secret;
}
