/**
 * The HTML pages that explain the example: the home page (what to try, with curl lines), about, and
 * the signed-in user's dashboard with their items and uploads.
 */
import express from 'express';
import { currentUser } from './accounts';
import type { StoredFile } from './files';
import { html, sendPage } from './html';
import type { Item } from './items';
import { DEMO_PASSWORD, DEMO_USERNAME } from './tenants';

export interface PageDeps {
  itemsOf: (userId: string) => Item[];
  uploadsOf: (userId: string) => StoredFile[];
}

export function pageRoutes(deps: PageDeps): express.Router {
  const router = express.Router();

  router.get('/', (req, res) => {
    const base = `${req.protocol}://${req.get('host') ?? 'localhost:3000'}`;
    sendPage(req, res, 'Welcome', html`
      <p>This app records every request it answers into an append-only activity trail
        (<code>user_activity</code>), using <code>express-activity-tracking</code>.
        Click around, then open the <a href="/api/activity-tracking/console">audit console</a> to see what was recorded.</p>
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
        <li><a href="/api/activity-tracking/console">/api/activity-tracking/console</a>: the auditor's console of the trail (sign in first)</li>
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
      <p>The package's report router is mounted at <code>/api/activity-tracking</code>, with its
        <a href="/api/activity-tracking/console">console</a>. Your sign-in here carries over (the tracker's
        <code>authorize(req)</code> option): <code>ops</code> audits every organisation, <code>${DEMO_USERNAME}</code> and
        <code>grace</code> each read their own organisation's trail.</p>
    `);
  });

  router.get('/about', (req, res) => {
    sendPage(req, res, 'About', html`
      <p>An example of <code>express-activity-tracking</code>: Express middleware that records every request
        (who, what, when, from where, how long, with what result) into an append-only trail, in an embedded
        PostgreSQL (PGlite) under <code>./.activity-data</code>, or in PostgreSQL when <code>DATABASE_URL</code> is set.</p>
      <p>Passwords, tokens and cookies are redacted before anything is stored, and so is the name a failed
        login typed when it is no account (it may be a password typed into the wrong field).</p>
    `);
  });

  router.get('/dashboard', (req, res) => {
    const user = currentUser(req);
    if (!user) {
      res.redirect(302, '/login');
      return;
    }
    const mine = deps.itemsOf(user.id);
    const uploads = deps.uploadsOf(user.id);
    sendPage(req, res, 'Dashboard', html`
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
      <p>Then see it all in the <a href="/api/activity-tracking/console">audit console</a>.</p>
    `);
  });

  return router;
}
