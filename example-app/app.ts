/**
 * A small but real Express 5 app that shows the activity trail at work: a form login and a JSON
 * login with bearer tokens, HTML pages, a JSON CRUD resource, an upload, a download, a failing
 * route, and a page that reads the trail back. Everything is kept in memory except the trail.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import type { ActivityTracker } from '../lib/index';
import { html, layout, type SafeHtml } from './html';
import { DEMO_PASSWORD, DEMO_USERNAME, EXAMPLE_USERS, exampleTenantOf, tenantOfUser, type ExampleUser } from './tenants';
import { approvalRoutes } from './approvals';
import { assistantRoutes } from './assistant';

declare module 'express-session' {
  interface SessionData {
    /** Set once the form login succeeds. */
    userId?: string;
  }
}

export { DEMO_USERNAME, DEMO_PASSWORD, exampleTenantOf } from './tenants';
/** Uploads larger than this are refused with 413. */
export const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
const SESSION_COOKIE = 'example.sid';
const TOKEN_TTL_MS = 60 * 60 * 1000;

export interface ExampleAppOptions {
  /** Where unexpected errors (the ones answered with 500) are reported. Default: `console.error`. */
  logError?: (error: unknown) => void;
  /** The clock emailed approval links expire by. Default: `Date.now`. */
  now?: () => number;
}

type DemoUser = ExampleUser;

interface Item {
  id: string;
  name: string;
  createdBy: string;
}

interface StoredFile {
  id: string;
  /** Bytes of the multipart request body; the demo keeps only the count. */
  size: number;
  uploadedBy: string;
  uploadedAt: Date;
}

/** `req.user` is what the tracker reads the user id from (`req.user.id`). */
type AuthedRequest = Request & { user?: DemoUser };

function currentUser(req: Request): DemoUser | undefined {
  return (req as AuthedRequest).user;
}

/**
 * Who may read the report routes in this example: the signed-in demo user, as an auditor. A real
 * app maps its own users and roles here, or signs JWTs and sets ACTIVITY_JWT_SECRET instead.
 */
/**
 * The tracker options the example runs with (server.ts) and its tests use: report access for the
 * signed-in user, the user's organisation on every row, and the assistant's message text
 * (`text`) redacted like a password, so the trail counts conversations without keeping them.
 */
export const EXAMPLE_TRACKER_OPTIONS = {
  authorize: (req: { user?: unknown }) => exampleReportAuthorize(req),
  getTenantId: (req: { user?: unknown }) => exampleTenantOf(req),
  sensitiveKeys: ['text'],
};

/** An organisation's people audit their organisation; the platform's operator audits all of them. */
export function exampleReportAuthorize(req: { user?: unknown }): { userId: string; role: string; tenantId?: string } | null {
  const user = req.user as DemoUser | undefined;
  if (!user) return null;
  return user.tenantId === null ? { userId: user.id, role: 'system_admin' } : { userId: user.id, role: 'auditor', tenantId: user.tenantId };
}

/**
 * A failed login counts against the account it tried (alert rule failed_logins_per_account) and is
 * seen by that account's organisation; a name that is no account is not kept (it may be a password
 * typed into the wrong field).
 */
function nameTheAccountTried(req: Request, username: unknown): void {
  if (!req.activity || typeof username !== 'string' || !Object.hasOwn(EXAMPLE_USERS, username)) return;
  req.activity.userId = username;
  const tenantId = tenantOfUser(username);
  if (tenantId !== null) req.activity.tenantId = tenantId;
}

function setUser(req: Request, user: DemoUser): void {
  (req as AuthedRequest).user = user;
}

/** One user, with a scrypt password hash as a real app would keep it. */
class UserStore {
  private readonly salt = randomBytes(16);
  private readonly users: Map<string, Promise<Buffer>>;

  constructor(credentials: Readonly<Record<string, { password: string; tenantId: string | null }>>) {
    this.users = new Map(Object.entries(credentials).map(([username, { password }]) => [username, this.hash(password)]));
  }

  /** The user when the password matches, else undefined; unknown names cost as much as wrong passwords. */
  async verify(username: unknown, password: unknown): Promise<DemoUser | undefined> {
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
class TokenStore {
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

function bearerToken(req: Request): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** `name` must be a non-empty string (after trimming); returns the trimmed name or an error message. */
function readName(body: unknown, required: boolean): { name?: string; error?: string } {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['name'] : undefined;
  if (value === undefined && !required) return {};
  if (typeof value !== 'string' || value.trim() === '') return { error: 'name must be a non-empty string' };
  if (value.length > 200) return { error: 'name must be at most 200 characters' };
  return { name: value.trim() };
}

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

export function createExampleApp(tracker: ActivityTracker, options: ExampleAppOptions = {}): express.Express {
  const logError = options.logError ?? ((error: unknown) => console.error(error));
  const users = new UserStore(EXAMPLE_USERS);
  const tokens = new TokenStore();
  const items = new Map<string, Item>([['1', { id: '1', name: 'Welcome item', createdBy: DEMO_USERNAME }]]);
  let nextItemId = 2;
  const files = new Map<string, StoredFile>();
  let nextFileId = 1;

  const app = express();
  app.disable('x-powered-by');

  // The tracker first, so that every request is recorded, whatever happens after it.
  app.use(tracker.middleware());
  app.use(express.json());
  app.use(express.urlencoded({ extended: false }));
  app.use(session({
    name: SESSION_COOKIE,
    secret: process.env['SESSION_SECRET'] || randomBytes(32).toString('hex'),
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax' },
  }));

  // Authentication, after the tracker: it reads req.user when the response ends.
  app.use((req, _res, next) => {
    const token = bearerToken(req);
    const userId = req.session.userId ?? (token === undefined ? undefined : tokens.userOf(token));
    if (userId !== undefined && users.has(userId)) setUser(req, { id: userId, tenantId: tenantOfUser(userId) });
    next();
  });

  const page = (req: Request, res: Response, title: string, body: SafeHtml, status = 200): void => {
    res.status(status).type('html').send(layout(title, body, currentUser(req)));
  };

  const requireUser = (req: Request, res: Response, next: NextFunction): void => {
    if (currentUser(req)) {
      next();
      return;
    }
    res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'Sign in first: log in at /login or send a bearer token from POST /api/auth/login' });
  };

  // ---- HTML pages -------------------------------------------------------------------------------

  app.get('/', (req, res) => {
    const base = `${req.protocol}://${req.get('host') ?? 'localhost:3000'}`;
    page(req, res, 'Welcome', html`
      <p>This app records every request it answers into an append-only activity trail
        (<code>user_activity</code>), using <code>express-activity-tracking</code>.
        Click around, then open the <a href="/activity">activity trail</a> to see what was recorded.</p>
      <h2>Demo user</h2>
      <p>Username <code>${DEMO_USERNAME}</code>, password <code>${DEMO_PASSWORD}</code>.
        <a href="/login">Log in with the form</a> (a session cookie), or get a bearer token:</p>
      <pre>curl -s -X POST ${base}/api/auth/login -H 'content-type: application/json' \\
  -d '{"username":"${DEMO_USERNAME}","password":"${DEMO_PASSWORD}"}'</pre>
      <h2>Pages</h2>
      <ul>
        <li><a href="/about">/about</a>: a plain page (recorded as <code>page_view</code>)</li>
        <li><a href="/login">/login</a>: the login form (<code>login</code> / <code>login_failed</code>)</li>
        <li><a href="/dashboard">/dashboard</a>: signed-in users only; upload a file or create an item there</li>
        <li><a href="/logout">/logout</a>: ends the session (<code>logout</code>)</li>
        <li><a href="/activity">/activity</a>: the latest 50 rows of the activity trail</li>
      </ul>
      <h2>JSON API</h2>
      <p>Reads are open; writes need a signed-in session or <code>Authorization: Bearer &lt;token&gt;</code>.</p>
      <ul>
        <li><a href="/api/items">GET /api/items</a>, <a href="/api/items/1">GET /api/items/1</a> (<code>data_view</code>)</li>
        <li><code>POST /api/items</code> with <code>{"name":"…"}</code> (<code>data_create</code>),
          <code>PUT</code> / <code>PATCH /api/items/:id</code> (<code>data_update</code>),
          <code>DELETE /api/items/:id</code> (<code>data_delete</code>)</li>
        <li><code>POST /api/files</code> as <code>multipart/form-data</code>, up to 5 MB (<code>file_upload</code>);
          <code>GET /api/files/:id/download</code> (<code>file_download</code>)</li>
        <li><code>POST /api/auth/refresh</code> with a bearer token: a new token (<code>token_refresh</code>)</li>
        <li><a href="/api/fail">GET /api/fail</a>: always fails with 500 (<code>error</code>)</li>
      </ul>
      <h2>Domain events</h2>
      <p>Two organisations: <code>${DEMO_USERNAME}</code> works for Acme, <code>grace</code> (password <code>grace-password</code>) for Globex, and <code>ops</code> (password <code>ops-password</code>) runs the platform and audits both.
        Each row carries its organisation, and each organisation's auditors see only their own.</p>
      <ul>
        <li><code>POST /api/approvals</code> with <code>{"title":"…"}</code> submits a request (<code>approval.submitted</code>);
          <code>POST /api/approvals/:id/approve</code>, or <code>/reject</code> with <code>{"reason":"…"}</code>, decides it from the panel</li>
        <li><code>POST /api/approvals/:id/links</code> with <code>{"approver":"…"}</code> "emails" a single-use decision link
          (see <code>GET /api/outbox</code>); opening it decides the request. An unknown, expired or reused link is refused and recorded as
          <code>authn_token_invalid</code>, <code>authn_token_expired</code> or <code>authn_token_reuse</code></li>
        <li><code>POST /api/assistant/messages</code> with <code>{"text":"…"}</code>: the message and the agent's reply, the agent as actor</li>
      </ul>
      <pre>TOKEN=…   # from the login above
curl -s -X POST ${base}/api/items -H "authorization: Bearer $TOKEN" \\
  -H 'content-type: application/json' -d '{"name":"chair"}'
curl -s -X POST ${base}/api/files -H "authorization: Bearer $TOKEN" -F file=@package.json</pre>
      <h2>Report routes</h2>
      <p>The package's report router is mounted at <code>/api/activity-tracking</code> (signed-in users only here;
        a real app would allow auditors only). The <a href="/activity">activity page</a> reads the
        <code>user_activity</code> table directly through <code>tracker.knex</code>; it is open to anyone in this demo,
        which a real app must not do: the trail holds IP addresses and user agents.</p>
    `);
  });

  app.get('/about', (req, res) => {
    page(req, res, 'About', html`
      <p>An example of <code>express-activity-tracking</code>: Express middleware that records every request
        (who, what, when, from where, how long, with what result) into an append-only trail, in an embedded
        PostgreSQL (PGlite) under <code>./.activity-data</code>, or in PostgreSQL when <code>DATABASE_URL</code> is set.</p>
      <p>Passwords, tokens and cookies are redacted before anything is stored.</p>
    `);
  });

  const loginPage = (req: Request, res: Response, status: number, error?: string, username = ''): void => {
    const user = currentUser(req);
    page(req, res, 'Log in', html`
      ${user ? html`<p>You are signed in as <strong>${user.id}</strong>. <a href="/dashboard">Go to the dashboard</a>.</p>` : ''}
      ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
      <form class="card" method="post" action="/login">
        <label>Username <input name="username" autocomplete="username" value="${username}" required></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
        <button type="submit">Log in</button>
      </form>
      <p>Demo user: <code>${DEMO_USERNAME}</code> / <code>${DEMO_PASSWORD}</code>.</p>
    `, status);
  };

  app.get('/login', (req, res) => {
    loginPage(req, res, 200);
  });

  app.post('/login', async (req, res, next) => {
    const username = field(req.body, 'username');
    const user = await users.verify(username, field(req.body, 'password'));
    if (!user) {
      nameTheAccountTried(req, username);
      loginPage(req, res, 401, 'Wrong username or password.', typeof username === 'string' ? username : '');
      return;
    }
    // A new session id on sign-in, so that an id planted before it cannot be used after it.
    req.session.regenerate((error) => {
      if (error) {
        next(error);
        return;
      }
      req.session.userId = user.id;
      setUser(req, user); // so that the login itself is recorded with the user's id
      res.redirect(302, '/dashboard');
    });
  });

  const logout = (req: Request, res: Response, next: NextFunction): void => {
    const token = bearerToken(req);
    if (token !== undefined) tokens.revoke(token);
    req.session.destroy((error) => {
      if (error) {
        next(error);
        return;
      }
      res.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax' });
      res.redirect(302, '/');
    });
  };
  app.post('/logout', logout);
  app.get('/logout', logout);

  app.get('/dashboard', (req, res) => {
    const user = currentUser(req);
    if (!user) {
      res.redirect(302, '/login');
      return;
    }
    const mine = [...items.values()].filter((item) => item.createdBy === user.id);
    const uploads = [...files.values()].filter((file) => file.uploadedBy === user.id);
    page(req, res, 'Dashboard', html`
      <p>Welcome, <strong>${user.id}</strong>. Everything you do here is recorded with your user id.</p>
      <h2>Your items</h2>
      ${mine.length === 0 ? html`<p>None yet.</p>` : html`<ul>${mine.map((item) => html`<li><a href="/api/items/${encodeURIComponent(item.id)}">#${item.id}</a> ${item.name}</li>`)}</ul>`}
      <form class="card" method="post" action="/api/items">
        <label>New item name <input name="name" required maxlength="200"></label>
        <button type="submit">Create (POST /api/items)</button>
      </form>
      <h2>Your uploads</h2>
      ${uploads.length === 0 ? html`<p>None yet.</p>` : html`<ul>${uploads.map((file) => html`<li><a href="/api/files/${encodeURIComponent(file.id)}/download">file-${file.id}.txt</a>, ${file.size} bytes</li>`)}</ul>`}
      <form class="card" method="post" action="/api/files" enctype="multipart/form-data">
        <label>File (up to 5 MB) <input name="file" type="file" required></label>
        <button type="submit">Upload (POST /api/files)</button>
      </form>
      <p>Then see it all on the <a href="/activity">activity trail</a>.</p>
    `);
  });

  app.get('/activity', async (req, res) => {
    // What was captured so far is written first, so the page is up to date (this request itself is
    // recorded when its response ends, so it appears on the next load).
    await tracker.flush();
    const rows = (await tracker.knex('user_activity')
      .select('start_time', 'user_id', 'session_id', 'activity_type', 'method', 'path', 'status_code', 'duration', 'browser', 'operating_system', 'ip_address', 'success')
      .orderBy([{ column: 'start_time', order: 'desc' }, { column: 'id', order: 'desc' }])
      .limit(50)) as ActivityRow[];
    page(req, res, 'Activity trail', html`
      <p>The latest ${rows.length} rows of <code>user_activity</code>, newest first. <a href="/activity">Refresh</a>
        to see this page's own visit.</p>
      <table>
        <thead><tr>
          <th>Time (UTC)</th><th>User</th><th>Session</th><th>Type</th><th>Method</th><th>Path</th>
          <th>Status</th><th>Duration ms</th><th>Browser</th><th>OS</th><th>IP</th>
        </tr></thead>
        <tbody>
          ${rows.map((row) => html`<tr class="${row.success ? '' : 'failed'}">
            <td>${formatTime(row.start_time)}</td>
            <td>${row.user_id ?? '—'}</td>
            <td><code>${row.session_id === null ? '—' : row.session_id.slice(0, 8)}</code></td>
            <td>${row.activity_type}</td>
            <td>${row.method ?? ''}</td>
            <td class="path">${row.path ?? ''}</td>
            <td class="num">${row.status_code ?? ''}</td>
            <td class="num">${row.duration === null ? '' : Number(row.duration).toFixed(1)}</td>
            <td>${row.browser ?? ''}</td>
            <td>${row.operating_system ?? ''}</td>
            <td>${row.ip_address ?? ''}</td>
          </tr>`)}
        </tbody>
      </table>
    `);
  });

  // ---- JSON authentication ----------------------------------------------------------------------

  app.post('/api/auth/login', async (req, res) => {
    const user = await users.verify(field(req.body, 'username'), field(req.body, 'password'));
    if (!user) {
      nameTheAccountTried(req, field(req.body, 'username'));
      res.status(401).json({ error: 'Wrong username or password' });
      return;
    }
    setUser(req, user);
    res.json({ token: tokens.issue(user.id), expiresIn: TOKEN_TTL_MS / 1000 });
  });

  app.post('/api/auth/refresh', (req, res) => {
    const token = bearerToken(req);
    const userId = token === undefined ? undefined : tokens.userOf(token);
    if (token === undefined || userId === undefined) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'Send a valid bearer token to refresh' });
      return;
    }
    tokens.revoke(token);
    res.json({ token: tokens.issue(userId), expiresIn: TOKEN_TTL_MS / 1000 });
  });

  // ---- Items: a JSON CRUD resource ---------------------------------------------------------------

  app.get('/api/items', (_req, res) => {
    res.json([...items.values()]);
  });

  app.get('/api/items/:id', (req, res) => {
    const item = items.get(req.params.id);
    if (!item) {
      res.status(404).json({ error: 'Item not found' });
      return;
    }
    res.json(item);
  });

  app.post('/api/items', requireUser, (req, res) => {
    const { name, error } = readName(req.body, true);
    if (name === undefined) {
      res.status(400).json({ error });
      return;
    }
    const item: Item = { id: String(nextItemId++), name, createdBy: currentUser(req)!.id };
    items.set(item.id, item);
    // The route has no :id, so the tracker cannot know the new id: name it (type and id together).
    if (req.activity) {
      req.activity.entityType = 'items';
      req.activity.entityId = item.id;
    }
    res.status(201).location(`/api/items/${item.id}`).json(item);
  });

  const update = (required: boolean) => (req: Request<{ id: string }>, res: Response): void => {
    const item = items.get(req.params.id);
    if (!item) {
      res.status(404).json({ error: 'Item not found' });
      return;
    }
    const { name, error } = readName(req.body, required);
    if (error !== undefined) {
      res.status(400).json({ error });
      return;
    }
    if (name !== undefined) item.name = name;
    res.json(item);
  };
  app.put('/api/items/:id', requireUser, update(true));
  app.patch('/api/items/:id', requireUser, update(false));

  app.delete('/api/items/:id', requireUser, (req: Request<{ id: string }>, res: Response) => {
    if (!items.delete(req.params.id)) {
      res.status(404).json({ error: 'Item not found' });
      return;
    }
    res.status(204).end();
  });

  // ---- Files: upload (bytes counted, never parsed or kept) and download --------------------------

  app.post('/api/files', requireUser, (req, res) => {
    if (!/^multipart\/form-data\s*;/i.test(req.headers['content-type'] ?? '')) {
      res.status(415).json({ error: 'Send the file as multipart/form-data' });
      return;
    }
    const tooLarge = (): void => {
      // Closing the connection stops a client that would otherwise keep sending.
      res.set('Connection', 'close').status(413).json({ error: `Files are limited to ${MAX_UPLOAD_BYTES} bytes` });
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_UPLOAD_BYTES) {
      tooLarge();
      return;
    }
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > MAX_UPLOAD_BYTES) {
        refused = true;
        tooLarge();
      }
    });
    req.on('end', () => {
      if (refused) return;
      const file: StoredFile = { id: String(nextFileId++), size, uploadedBy: currentUser(req)!.id, uploadedAt: new Date() };
      files.set(file.id, file);
      if (req.activity) {
        req.activity.entityType = 'files';
        req.activity.entityId = file.id;
      }
      res.status(201).location(`/api/files/${file.id}/download`).json({ id: file.id, size });
    });
    // A client that goes away mid-upload needs no answer; the tracker records it as aborted.
  });

  app.get('/api/files/:id/download', (req, res) => {
    const file = files.get(req.params.id);
    if (!file) {
      res.status(404).json({ error: 'File not found' });
      return;
    }
    res.attachment(`file-${file.id}.txt`).send(
      `File ${file.id}: ${file.size} bytes uploaded by ${file.uploadedBy} at ${file.uploadedAt.toISOString()}.\n`
      + 'The example keeps only the byte count, not the content.\n',
    );
  });

  app.get('/api/fail', () => {
    throw new Error('Simulated failure: this route always fails');
  });

  // ---- Report routes, 404s and errors -----------------------------------------------------------

  const approvals = approvalRoutes({ now: options.now ?? Date.now, requireUser });
  app.use(approvals.router);
  app.use(assistantRoutes(requireUser));

  app.use('/api/activity-tracking', tracker.router());

  app.use((req, res) => {
    if (req.path.startsWith('/api/')) {
      res.status(404).json({ error: 'Not found' });
      return;
    }
    page(req, res, 'Not found', html`<p>There is no page at <code>${req.path}</code>. <a href="/">Home</a>.</p>`, 404);
  });

  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const status = statusOf(error);
    if (status !== undefined && status >= 400 && status < 500) {
      // Client errors from the body parsers (malformed JSON, a body too large): say what was wrong.
      const exposed = (error as { expose?: unknown }).expose === true && error instanceof Error;
      res.status(status).json({ error: exposed ? error.message : 'Bad request' });
      return;
    }
    logError(error);
    res.status(500).json({ error: 'Internal error' });
  });

  return app;
}

interface ActivityRow {
  start_time: Date | string;
  user_id: string | null;
  session_id: string | null;
  activity_type: string;
  method: string | null;
  path: string | null;
  status_code: number | null;
  duration: number | string | null;
  browser: string | null;
  operating_system: string | null;
  ip_address: string | null;
  success: boolean;
}

function formatTime(value: Date | string): string {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace('T', ' ').replace('Z', '');
}
