/**
 * The dashboard's forms post to the JSON API. A browser that submitted one is sent back to the
 * dashboard, or shown what went wrong with a way on; API clients get the JSON answers they always got.
 */
import type { NextFunction, Request, Response } from 'express';
import { currentUser, requireUser } from './accounts';
import { html, sendPage } from './html';

export const DASHBOARD = '/dashboard';

/**
 * A browser submitting a form asks for HTML before anything else; curl and fetch() (no Accept
 * header, or any type) and API clients asking for JSON get JSON.
 */
export function wantsPage(req: Request): boolean {
  return req.accepts(['json', 'html']) === 'html';
}

/** 303, so that the browser GETs the dashboard and reloading it does not post the form again. */
export function backToDashboard(res: Response): void {
  res.redirect(303, DASHBOARD);
}

/** A refused request: for a browser, the message on a page with a link back, the status kept; else JSON. */
export function refuse(req: Request, res: Response, status: number, message: string): void {
  if (!wantsPage(req)) {
    res.status(status).json({ error: message });
    return;
  }
  sendPage(req, res, 'Not saved', html`
    <p class="error" role="alert">${message}</p>
    <p><a href="${DASHBOARD}">Back to the dashboard</a></p>
  `, status);
}

/** requireUser, except that a browser whose session has ended gets a page that links to the login form. */
export function requireUserOrLogin(req: Request, res: Response, next: NextFunction): void {
  if (currentUser(req) || !wantsPage(req)) {
    requireUser(req, res, next);
    return;
  }
  sendPage(req, res, 'Not saved', html`
    <p class="error" role="alert">You are not signed in (any more).</p>
    <p><a href="/login">Log in</a>, then try again from the <a href="${DASHBOARD}">dashboard</a>.</p>
  `, 401);
}
