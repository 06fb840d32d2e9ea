/**
 * A tiny HTML toolkit for the example: a tagged template that escapes every interpolated value
 * unless it is already markup built by the same template, and the one layout every page uses.
 */
import type { Request, Response } from 'express';
import { currentUser } from './accounts';

/** Markup that is safe to insert as is: only `html` and `raw` make it. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(value);
}

/** `html\`<p>${untrusted}</p>\``: interpolations are escaped; nested `html` fragments and arrays of them are kept. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

const STYLE = `
  body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
  header { background: #24292f; color: #fff; padding: .6rem 1.5rem; display: flex; gap: 1.2rem; align-items: center; flex-wrap: wrap; }
  header a { color: #fff; text-decoration: none; }
  header .who { margin-left: auto; opacity: .85; }
  header form { display: inline; }
  header button { background: none; border: 1px solid #fff8; color: #fff; border-radius: 4px; cursor: pointer; }
  main { max-width: 1200px; margin: 1.5rem auto; padding: 0 1.5rem; }
  code, pre { background: #eaeef2; border-radius: 4px; padding: .1rem .3rem; font-size: 13px; }
  pre { padding: .6rem .8rem; overflow-x: auto; }
  form.card { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 1rem 1.2rem; max-width: 22rem; }
  form.card label { display: block; margin: .5rem 0; }
  form.card input { width: 100%; box-sizing: border-box; padding: .35rem; }
  .error { color: #cf222e; }
  table { border-collapse: collapse; width: 100%; background: #fff; font-size: 13px; }
  th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left; vertical-align: top; }
  th { background: #eaeef2; position: sticky; top: 0; }
  tr.failed td { background: #fff1f0; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  td.path { word-break: break-all; }
`;

/** The one layout: a header with links and who is signed in, then the page. */
export function layout(title: string, body: SafeHtml, user: { id: string } | undefined): string {
  const who = user
    ? html`<span class="who">Signed in as <strong>${user.id}</strong></span>
        <form method="post" action="/logout"><button type="submit">Log out</button></form>`
    : html`<span class="who"><a href="/login">Log in</a></span>`;
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title} · express-activity-tracking example</title>
  <style>${new SafeHtml(STYLE)}</style>
</head>
<body>
  <header>
    <a href="/"><strong>Activity tracking example</strong></a>
    <a href="/about">About</a>
    <a href="/dashboard">Dashboard</a>
    <a href="/api/activity-tracking/console">Audit console</a>
    ${who}
  </header>
  <main>
    <h1>${title}</h1>
    ${body}
  </main>
</body>
</html>
`.value;
}

/** Answers with a page in the layout, showing who is signed in. */
export function sendPage(req: Request, res: Response, title: string, body: SafeHtml, status = 200): void {
  res.status(status).type('html').send(layout(title, body, currentUser(req)));
}
