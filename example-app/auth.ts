/**
 * Signing in and out: a form login with a session cookie, a JSON login that issues bearer tokens,
 * token refresh, and logout for both. Failed logins are named after the account they tried.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { bearerToken, currentUser, nameTheAccountTried, SESSION_COOKIE, setUser, TOKEN_TTL_MS, type TokenStore, type UserStore } from './accounts';
import { html, sendPage } from './html';
import { DEMO_PASSWORD, DEMO_USERNAME } from './tenants';

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

function loginPage(req: Request, res: Response, status: number, error?: string, username = ''): void {
  const user = currentUser(req);
  sendPage(req, res, 'Log in', html`
    ${user ? html`<p>You are signed in as <strong>${user.id}</strong>. <a href="/dashboard">Go to the dashboard</a>.</p>` : ''}
    ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
    <form class="card" method="post" action="/login">
      <label>Username <input name="username" autocomplete="username" value="${username}" required></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit">Log in</button>
    </form>
    <p>Demo user: <code>${DEMO_USERNAME}</code> / <code>${DEMO_PASSWORD}</code>.</p>
  `, status);
}

export function authRoutes(users: UserStore, tokens: TokenStore): express.Router {
  const router = express.Router();

  router.get('/login', (req, res) => {
    loginPage(req, res, 200);
  });

  router.post('/login', async (req, res, next) => {
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
  router.post('/logout', logout);
  router.get('/logout', logout);

  router.post('/api/auth/login', async (req, res) => {
    const user = await users.verify(field(req.body, 'username'), field(req.body, 'password'));
    if (!user) {
      nameTheAccountTried(req, field(req.body, 'username'));
      res.status(401).json({ error: 'Wrong username or password' });
      return;
    }
    setUser(req, user);
    res.json({ token: tokens.issue(user.id), expiresIn: TOKEN_TTL_MS / 1000 });
  });

  router.post('/api/auth/refresh', (req, res) => {
    const token = bearerToken(req);
    const userId = token === undefined ? undefined : tokens.userOf(token);
    if (token === undefined || userId === undefined) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'Send a valid bearer token to refresh' });
      return;
    }
    tokens.revoke(token);
    res.json({ token: tokens.issue(userId), expiresIn: TOKEN_TTL_MS / 1000 });
  });

  return router;
}
