/**
 * The activity page: the latest rows of the trail, read straight from `user_activity` through
 * `tracker.knex`. Open to anyone in this demo, which a real app must not do: the rows hold IP
 * addresses and user agents.
 */
import express from 'express';
import type { ActivityTracker } from '../lib/index';
import { html, sendPage } from './html';

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

export function trailRoutes(tracker: ActivityTracker): express.Router {
  const router = express.Router();

  router.get('/activity', async (req, res) => {
    // What was captured so far is written first, so the page is up to date (this request itself is
    // recorded when its response ends, so it appears on the next load).
    await tracker.flush();
    const rows = (await tracker.knex('user_activity')
      .select('start_time', 'user_id', 'session_id', 'activity_type', 'method', 'path', 'status_code', 'duration', 'browser', 'operating_system', 'ip_address', 'success')
      .orderBy([{ column: 'start_time', order: 'desc' }, { column: 'id', order: 'desc' }])
      .limit(50)) as ActivityRow[];
    sendPage(req, res, 'Activity trail', html`
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
  return router;
}
