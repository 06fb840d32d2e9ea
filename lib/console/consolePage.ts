import type { Request, Response } from 'express';
import type { ConsoleAssets } from './consoleAssets';

/** The console's views; each is a path under `<mount>/console/`, and `/console` alone opens the first the caller may see. */
export const CONSOLE_VIEWS = ['overview', 'explorer', 'timeline', 'sessions', 'security', 'integrity', 'compliance', 'me'] as const;
export type ConsoleView = typeof CONSOLE_VIEWS[number];

/**
 * The page's own policy, added beside any the host app sets (a browser enforces both): only this
 * origin's script, styles and connections, never inside a frame (the page has buttons that act).
 */
export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "font-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

/**
 * The console's HTML: an empty shell that loads the script, which asks the report routes for
 * everything it shows, so the page itself holds nothing of the trail and needs no sign-in. How
 * callers sign in (`cookie`: the app's own sign-in through authorize(req); `bearer`: a token the
 * console asks for) and the mount path are passed as data attributes, escaped.
 */
export function sendConsolePage(req: Request, res: Response, assets: ConsoleAssets, auth: 'cookie' | 'bearer'): void {
  const base = req.baseUrl;
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Activity trail console</title>
<link rel="stylesheet" href="${attribute(`${base}/console/assets/console.css?v=${assets.version('console.css')}`)}">
<script src="${attribute(`${base}/console/assets/console.js?v=${assets.version('console.js')}`)}" defer></script>
</head><body><div id="console" data-base="${attribute(base)}" data-auth="${auth}"></div>
<noscript>The console needs JavaScript.</noscript></body></html>
`;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.append('Content-Security-Policy', CONSOLE_CONTENT_SECURITY_POLICY);
  res.send(page);
}

function attribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
