import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ResolvedConfig } from '../config';
import type { TrackedRequest } from '../types';
import { bearerToken } from '../auth/jwt';
import { randomId128 } from '../util/ids';
import { safeDecode } from '../util/paths';
import { RecentCache } from '../util/recentCache';
import { sessionMasterKey } from './sessionKey';

const SESSION_ID = /^[0-9a-f]{32}$/;
/** base64url characters of the cookie's HMAC-SHA-256 kept: 132 bits. */
const MAC_CHARS = 22;
/** `<32 hex id>.<mac>` */
const COOKIE_LENGTH = 32 + 1 + MAC_CHARS;
const DAY_MS = 86_400_000;
/** Cookies that verified, so a browser's next requests cost a map lookup instead of an HMAC (about 4 µs). */
const VERIFIED_CACHE = 10_000;
/** Cookie-less clients' fingerprints, for the same reason: a script sends the same IP and user agent all day. */
const FINGERPRINT_CACHE = 10_000;
/** Longer IP + user agent pairs are hashed every time rather than pinned in the cache. */
const MAX_FINGERPRINT_KEY = 1024;

/** Where a request's visit came from, decided at its start. */
export type SessionSource = 'cookie' | 'token' | 'app' | 'fingerprint';

/** What the session resolver reads and notes at the start of a request (the middleware's RequestStart). */
export interface SessionStart {
  ip: string | null;
  userAgent: string | null;
  startedAt: number;
  sessionId: string;
  /** The keyed hash of IP and user agent, when the session came from it; null otherwise. */
  fingerprint: string | null;
  sessionSource: SessionSource | null;
  /** The request's bearer token, hashed once at its start; null without one. */
  tokenHash: string | null;
  /** A change of the app's session id (or bearer token) this request made, recorded beside it. */
  sessionNote: SessionNote | null;
}

/** The app's own session credential seen on a request: express-session's id or a bearer token, hashed. */
export interface AppSession {
  kind: 'express-session' | 'bearer';
  id: string;
}

/** `session.linked` (the visit's first app session) or `session.rotated` (a different one later). */
export interface SessionNote {
  action: 'session.linked' | 'session.rotated';
  kind: AppSession['kind'];
  from: string | null;
  to: string;
}

/** What the resolver remembers of a visit it saw recently, in this process. */
interface VisitState {
  /** The first user seen on the visit: another user signing in starts a visit of their own. */
  user?: string;
  /** The app session id (or bearer token) last seen on the visit, hashed. */
  app?: AppSession;
  /** The visit another user's sign-in started on this browser: its cookie is reissued for it. */
  successor?: string;
}

/** A visit handed on by sign-ins of other users follows at most this many hops at one request's start. */
const MAX_SUCCESSORS = 8;
const VISIT_CACHE = 50_000;

/**
 * Gives every request a session id, so that one visit (a browser's, an API client's, a cookie-less
 * script's) is one session, from its first anonymous page through a failed and a successful login
 * to logout and beyond, whatever the app does to its own session ids on the way:
 * 1. the package's own cookie, a random 128-bit id followed by its HMAC under a key only the
 *    server knows, is the visit: a cookie the server did not issue (another user's session id,
 *    guessed or seen) does not verify and is ignored, as if there were none;
 * 2. without it, a bearer token already seen on a visit continues that visit;
 * 3. with the package cookie off, an express-session id already seen on a visit continues it;
 * 4. otherwise a keyed hash of IP and user agent, with a salt that rotates daily, maps to the random
 *    id issued to that client, so that a loop of cookie-less requests, or an API client's login
 *    followed by its token calls, is one visit. A browser that returns the cookie it was given has
 *    its own visit: a cookie-less request from the same address and user agent is not joined to it.
 * The app's session id (express-session's, hashed: it is a credential) or bearer token (hashed) is
 * recorded beside the visit, not used instead of it: `session.linked` when the visit first has one,
 * `session.rotated` with the old and new ids when it changes (express-session's `regenerate` at
 * login, a refreshed token). A different user signing in on the same visit starts a visit of their
 * own, whose id is derived from the old one and the user, and whose cookie the browser is given
 * at its next request. What is remembered of a visit lives in this process: with several processes
 * and no sticky sessions a sign-in seen by one is learnt by another only from the reissued cookie.
 */
export class SessionResolver {
  private readonly key: Buffer;
  private readonly cookieKey: Buffer;
  private readonly verified = new RecentCache<string, string>(VERIFIED_CACHE);
  private readonly issued: RecentCache<string, { id: string; lastSeen: number; cookie?: string }>;
  private readonly visits = new RecentCache<string, VisitState>(VISIT_CACHE);
  /** Hashed app session ids and bearer tokens → the visit they were seen on. */
  private readonly appVisits = new RecentCache<string, string>(VISIT_CACHE);
  /** `ip \n user agent` → fingerprint under the current salt; emptied when the salt rotates. */
  private readonly fingerprints = new RecentCache<string, string>(FINGERPRINT_CACHE);
  private salt = { day: -1, value: Buffer.alloc(0) };
  private readonly timeoutMs: number;

  constructor(private readonly config: Pick<ResolvedConfig, 'sessionCookie' | 'sessionSecret' | 'sessionTimeoutMinutes' | 'dataDir' | 'logger'>) {
    // Without a cookie nothing outlives the process, so no key file is needed.
    this.key = config.sessionCookie ? sessionMasterKey(config) : config.sessionSecret ? Buffer.from(config.sessionSecret) : randomBytes(32);
    this.cookieKey = createHmac('sha256', this.key).update('activity-tracking session cookie v1').digest();
    this.issued = new RecentCache(50_000);
    this.timeoutMs = config.sessionTimeoutMinutes * 60_000;
  }

  /**
   * Decided when the request starts; may set the session cookie on the response. Notes on `start`
   * where the visit came from and the fingerprint, if it came from that, for atEnd.
   */
  atStart(req: TrackedRequest, res: ServerResponse, start: SessionStart): string {
    const cookieName = this.config.sessionCookie ? this.config.sessionCookie.name : null;
    const headers = req.headers;
    const token = bearerToken(headers.authorization);
    // Hashed once: the visit may come from it, and it is the app session recorded beside the visit.
    if (token !== null) start.tokenHash = sha256(token);
    if (cookieName !== null) {
      const fromCookie = readCookie(headers.cookie, cookieName);
      const id = fromCookie === null ? null : this.verifiedId(fromCookie);
      if (id !== null) {
        start.sessionSource = 'cookie';
        const current = this.successorOf(id);
        if (current !== id) this.setCookie(req, res, cookieName, `${current}.${this.mac(current)}`);
        return current;
      }
    }
    if (start.tokenHash !== null) {
      const known = this.appVisits.get(start.tokenHash);
      if (known !== undefined) {
        start.sessionSource = 'token';
        return known;
      }
    } else if (cookieName === null) {
      const appId = expressSessionIdIn(headers.cookie);
      const known = appId === null ? undefined : this.appVisits.get(sha256(appId));
      if (known !== undefined) {
        start.sessionSource = 'app';
        return known;
      }
    }
    const now = start.startedAt;
    const fingerprint = this.fingerprint(`${start.ip ?? ''}\n${start.userAgent ?? ''}`, now);
    start.fingerprint = fingerprint;
    start.sessionSource = 'fingerprint';
    const issued = this.issuedFor(fingerprint, now);
    // A token client is not a browser: it keeps no cookie, so none is offered.
    if (cookieName !== null && token === null) {
      // Signed once per session id, not once per request: a cookie-less client asks for it every time.
      issued.cookie ??= `${issued.id}.${this.mac(issued.id)}`;
      this.setCookie(req, res, cookieName, issued.cookie);
    }
    return issued.id;
  }

  private setCookie(req: TrackedRequest, res: ServerResponse, name: string, value: string): void {
    if (res.headersSent) return;
    const secure = req.secure === true ? '; Secure' : '';
    appendSetCookie(res, `${name}=${value}; Path=/; HttpOnly; SameSite=Lax${secure}`);
  }

  /** The visit a cookie's visit was handed on to by other users' sign-ins, if any. */
  private successorOf(id: string): string {
    let current = id;
    for (let hop = 0; hop < MAX_SUCCESSORS; hop++) {
      const next = this.visits.get(current)?.successor;
      if (next === undefined) break;
      current = next;
    }
    return current;
  }

  /** The session id of a cookie this server signed; null for anything else. */
  private verifiedId(cookie: string): string | null {
    if (cookie.length !== COOKIE_LENGTH || cookie.charCodeAt(32) !== 0x2e) return null;
    const known = this.verified.get(cookie);
    if (known !== undefined) return known;
    const id = cookie.slice(0, 32);
    if (!SESSION_ID.test(id)) return null;
    const expected = Buffer.from(this.mac(id));
    const given = Buffer.from(cookie.slice(33));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    // Only a cookie that verified is kept: a forged one cannot enter the cache, only miss it.
    this.verified.set(cookie, id);
    return id;
  }

  private mac(id: string): string {
    return createHmac('sha256', this.cookieKey).update(id).digest('base64url').slice(0, MAC_CHARS);
  }

  /**
   * The visit once the request is done and its user known (express-session may be mounted after
   * the tracker, and sign a user in during the request). Notes on `start` a change of the app's
   * session id, which the middleware records beside the request.
   */
  atEnd(req: TrackedRequest, res: ServerResponse | null, start: SessionStart, userId: string | null = null): string {
    let visit = start.sessionId;
    const app = appSessionOf(req, res, start.tokenHash);
    if (app !== null && app.kind === 'express-session' && this.config.sessionCookie === false) {
      // Without the package cookie, an app session already seen names the visit (its id changed at
      // sign-in on a request whose start could not know the new one).
      visit = this.appVisits.get(app.id) ?? visit;
    }
    let state = this.visitState(visit);
    if (userId !== null) {
      state.user ??= userId;
      if (state.user !== userId) {
        const own = this.derived(visit, userId);
        if (start.sessionSource === 'cookie') state.successor = own;
        visit = own;
        state = this.visitState(own);
        state.user ??= userId;
      }
    }
    if (app !== null) {
      const previous = state.app;
      // Another token on a visit whose user is unknown may be another client behind the same
      // address and user agent: it gets a visit of its own, as a token always had.
      if (app.kind === 'bearer' && previous?.kind === 'bearer' && previous.id !== app.id && userId === null && start.sessionSource === 'fingerprint') {
        visit = app.id;
        state = this.visitState(visit);
      }
      if (state.app?.id !== app.id) {
        start.sessionNote = { action: state.app === undefined ? 'session.linked' : 'session.rotated', kind: app.kind, from: state.app?.id ?? null, to: app.id };
        state.app = app;
      }
      this.appVisits.set(app.id, visit);
    }
    return visit;
  }

  private visitState(visit: string): VisitState {
    let state = this.visits.get(visit);
    if (state === undefined) {
      state = {};
      this.visits.set(visit, state);
    }
    return state;
  }

  /** The visit of `userId` on a browser or client whose visit another user began: stable without any state. */
  private derived(visit: string, userId: string): string {
    return createHmac('sha256', this.key).update(`visit of another user\n${visit}\n${userId}`).digest('hex').slice(0, 32);
  }

  /** The keyed hash of a client's IP and user agent under the day's salt, computed once per client and day. */
  private fingerprint(client: string, now: number): string {
    const salt = this.saltFor(now);
    const cacheable = client.length <= MAX_FINGERPRINT_KEY;
    const known = cacheable ? this.fingerprints.get(client) : undefined;
    if (known !== undefined) return known;
    const fingerprint = createHmac('sha256', salt).update(client).digest('base64');
    if (cacheable) this.fingerprints.set(client, fingerprint);
    return fingerprint;
  }

  /**
   * The visit issued to a cookie-less client, while it is active and its cookie has never come
   * back: a browser that keeps the cookie is a visit of its own.
   */
  private issuedFor(key: string, now: number): { id: string; lastSeen: number; cookie?: string } {
    const known = this.issued.get(key);
    if (known && now - known.lastSeen < this.timeoutMs && (known.cookie === undefined || this.verified.get(known.cookie) === undefined)) {
      known.lastSeen = now;
      return known;
    }
    const fresh = { id: randomId128(), lastSeen: now };
    this.issued.set(key, fresh);
    return fresh;
  }

  private saltFor(now: number): Buffer {
    const day = Math.floor(now / DAY_MS);
    if (day !== this.salt.day) {
      this.salt = { day, value: createHmac('sha256', this.key).update(`salt:${day}`).digest() };
      this.fingerprints.clear();
    }
    return this.salt.value;
  }
}

/** express-session's id once that session is real (its cookie came in or goes out), else a bearer token; hashed. */
function appSessionOf(req: TrackedRequest, res: ServerResponse | null, tokenHash: string | null): AppSession | null {
  const sid = req.sessionID;
  if (typeof sid === 'string' && sid !== '' && isPersistedSession(sid, req, res)) return { kind: 'express-session', id: sha256(sid) };
  return tokenHash === null ? null : { kind: 'bearer', id: tokenHash };
}

/**
 * The id in an express-session cookie of the request (`s:<id>.<signature>`, URL-encoded), not
 * verified: it is only looked up among ids express-session itself handed over on earlier requests.
 */
function expressSessionIdIn(header: string | undefined): string | null {
  if (!header) return null;
  const at = header.indexOf('=s%3A');
  if (at === -1) return null;
  const end = header.indexOf('.', at + 5);
  if (end === -1 || end - at > 300) return null;
  return safeDecode(header.slice(at + 5, end));
}

/**
 * express-session always signs its cookie as `s:<id>.<signature>`, URL-encoded; finding that in the
 * request's cookies or the response's Set-Cookie proves the id outlives this request, whatever the
 * cookie's name.
 */
function isPersistedSession(sid: string, req: TrackedRequest, res: ServerResponse | null): boolean {
  const signed = `s%3A${encodeURIComponent(sid)}.`;
  if (req.headers.cookie?.includes(signed)) return true;
  const setCookie = res?.getHeader('set-cookie');
  if (setCookie === undefined) return false;
  return Array.isArray(setCookie) ? setCookie.some((c) => c.includes(signed)) : String(setCookie).includes(signed);
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}

/** One cookie's value, found by scanning rather than splitting the whole header on every request. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  let from = 0;
  while (from < header.length) {
    const at = header.indexOf(name, from);
    if (at === -1) return null;
    const before = at === 0 ? ';' : header[at - 1];
    if ((before === ';' || before === ' ') && header[at + name.length] === '=') {
      const end = header.indexOf(';', at);
      return header.slice(at + name.length + 1, end === -1 ? undefined : end).trim();
    }
    from = at + name.length;
  }
  return null;
}

function appendSetCookie(res: ServerResponse, cookie: string): void {
  const existing = res.getHeader('set-cookie');
  if (existing === undefined) res.setHeader('set-cookie', cookie);
  else res.setHeader('set-cookie', Array.isArray(existing) ? [...existing, cookie] : [String(existing), cookie]);
}
