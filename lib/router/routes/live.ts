import type { ReportContext, ReportHandler } from '../context';
import type { LiveStreamLimit } from '../liveStreamLimit';
import { ACTIVITY_FILTER_PARAMS, activityFilters, allowOnly, describeFilters } from '../params';
import { messageOf } from '../../util/messageOf';

/** The `/activities` filters but the period: a live stream shows what is stored from now on. */
export const LIVE_PARAMS = ACTIVITY_FILTER_PARAMS.filter((name) => name !== 'startDate' && name !== 'endDate');

/** Rows per look; a burst larger than this is sent over the next looks, in order. */
const ROWS_PER_POLL = 500;
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;
/** A stream ends after this long and the console reconnects, so no stream outlives a revoked sign-in by more. */
const MAX_STREAM_MS = 30 * 60_000;

/**
 * `GET /live`: new rows of the caller's scope as Server-Sent Events, as they are stored, for the
 * console's live mode. Takes the `/activities` filters but the period. Sends `event: ready` with
 * the chain position it starts after, then one `event: activity` per row (the `/activities` row
 * with its `chainPosition`), in chain order. It looks for rows every `liveStreams.pollMs` with
 * one indexed query, after the last position it sent, so rows stored by any instance arrive once
 * each; a client that reconnects with `Last-Event-ID` goes on after that row. Streams end when the
 * tracker closes, so they never hold up the app's shutdown. A user holds at most `liveStreams.perUser` streams (429 beyond).
 */
export function liveRoute(ctx: ReportContext, limit: LiveStreamLimit): ReportHandler {
  const { pollMs } = ctx.config.liveStreams;
  return async (req, res, { principal, describe, reader }) => {
    const query = req.query as Record<string, unknown>;
    allowOnly(query, LIVE_PARAMS);
    const filters = activityFilters(query);
    const release = limit.acquire(principal.userId);
    // A reconnecting client names the last row it got (Last-Event-ID), and goes on after it.
    const resumeAfter = Number(req.headers['last-event-id']);
    let position: number;
    try {
      position = Number.isSafeInteger(resumeAfter) && resumeAfter >= 0 && req.headers['last-event-id'] !== '' ? resumeAfter : await reader.lastPosition();
    } catch (error) {
      release();
      throw error;
    }
    describe({ filters: describeFilters(filters) });

    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    const send = (text: string): void => {
      res.write(text);
      // A host app's compression middleware holds writes back until flushed.
      (res as { flush?: () => void }).flush?.();
    };
    send(`retry: 3000\n\nevent: ready\ndata: ${JSON.stringify({ position })}\n\n`);

    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    let lastSent = Date.now();
    const startedAt = Date.now();
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      ctx.closing.removeEventListener('abort', stop);
      release();
      if (!res.writableEnded) res.end();
    };
    req.on('close', stop);
    res.on('close', stop);
    // An open stream would hold the app's server.close() for as long as it lasts.
    if (ctx.closing.aborted) stop();
    else ctx.closing.addEventListener('abort', stop);

    const look = async (): Promise<void> => {
      if (stopped) return;
      try {
        const rows = await reader.rowsAfterPosition(filters, position, ROWS_PER_POLL);
        if (stopped) return;
        if (rows.length > 0) {
          send(rows.map((row) => `event: activity\nid: ${row.chainPosition}\ndata: ${JSON.stringify(row)}\n\n`).join(''));
          position = (rows[rows.length - 1] as { chainPosition: number }).chainPosition;
          lastSent = Date.now();
        } else if (Date.now() - lastSent >= KEEPALIVE_MS) {
          send(': keepalive\n\n');
          lastSent = Date.now();
        }
      } catch (error) {
        // The database is away: the console reconnects after `retry`, and starts after what it has.
        ctx.config.logger.warn('A live stream of the activity trail stopped: its database read failed', { error: messageOf(error) });
        stop();
        return;
      }
      if (Date.now() - startedAt >= MAX_STREAM_MS) {
        stop();
        return;
      }
      timer = setTimeout(() => { void look(); }, pollMs);
    };
    timer = setTimeout(() => { void look(); }, pollMs);
  };
}
