/**
 * Who is calling: the example's users with scrypt password hashes, its opaque bearer tokens, and
 * the middleware that sets `req.user` from the session or the token (the tracker reads the user id
 * from `req.user.id` when the response ends).
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { EXAMPLE_USERS, tenantOfUser, type ExampleUser } from './tenants';

export const SESSION_COOKIE = 'example.sid';
export const TOKEN_TTL_MS = 60 * 60 * 1000;

type AuthedRequest = Request & { user?: ExampleUser };

export function currentUser(req: Request): ExampleUser | undefined {
  return (req as AuthedRequest).user;
}

export function setUser(req: Request, user: ExampleUser): void {
  (req as AuthedRequest).user = user;
}

/** One user, with a scrypt password hash as a real app would keep it. */
export class UserStore {
  private readonly salt = randomBytes(16);
  private readonly users: Map<string, Promise<Buffer>>;

  constructor(credentials: Readonly<Record<string, { password: string; tenantId: string | null }>>) {
    this.users = new Map(Object.entries(credentials).map(([username, { password }]) => [username, this.hash(password)]));
  }

  /** The user when the password matches, else undefined; unknown names cost as much as wrong passwords. */
  async verify(username: unknown, password: unknown): Promise<ExampleUser | undefined> {
    if (typeof username !== 'string' || typeof password !== 'string') return undefined;
    const expected = this.users.get(username);
    const given = await this.hash(password);
    if (!expected) return undefined;
    return timingSafeEqual(await expected, given) ? { id: username, tenantId: tenantOfUser(username) } : undefined;
  }

  has(username: string): boolean {
    return this.users.has(username);
  }

  private hash(password: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      scrypt(password, this.salt, 32, (error, key) => (error ? reject(error) : resolve(key)));
    });
  }
}

/** Opaque random bearer tokens (not JWTs), kept in memory with an expiry. */
export class TokenStore {
  private readonly tokens = new Map<string, { userId: string; expiresAt: number }>();

  issue(userId: string): string {
    const now = Date.now();
    for (const [token, entry] of this.tokens) if (entry.expiresAt <= now) this.tokens.delete(token);
    const token = randomBytes(32).toString('base64url');
    this.tokens.set(token, { userId, expiresAt: now + TOKEN_TTL_MS });
    return token;
  }

  userOf(token: string): string | undefined {
    const entry = this.tokens.get(token);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.tokens.delete(token);
      return undefined;
    }
    return entry.userId;
  }

  revoke(token: string): void {
    this.tokens.delete(token);
  }
}

export function bearerToken(req: Request): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** Runs after the tracker and the session: the tracker reads req.user only when the response ends. */
export function authenticate(users: UserStore, tokens: TokenStore): RequestHandler {
  return (req, _res, next) => {
    const token = bearerToken(req);
    const userId = req.session.userId ?? (token === undefined ? undefined : tokens.userOf(token));
    if (userId !== undefined && users.has(userId)) setUser(req, { id: userId, tenantId: tenantOfUser(userId) });
    next();
  };
}

export function requireUser(req: Request, res: Response, next: NextFunction): void {
  if (currentUser(req)) {
    next();
    return;
  }
  res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'Sign in first: log in at /login or send a bearer token from POST /api/auth/login' });
}

/**
 * A failed login counts against the account it tried (alert rule failed_logins_per_account) and is
 * seen by that account's organisation. A name that is no account is not kept (it may be a password
 * typed into the wrong field): with the tracker option dropUnknownLoginNames, a failed login this
 * did not name keeps '[unknown account]' in place of the name.
 */
export function nameTheAccountTried(req: Request, username: unknown): void {
  if (!req.activity || typeof username !== 'string' || !Object.hasOwn(EXAMPLE_USERS, username)) return;
  req.activity.userId = username;
  const tenantId = tenantOfUser(username);
  if (tenantId !== null) req.activity.tenantId = tenantId;
}
