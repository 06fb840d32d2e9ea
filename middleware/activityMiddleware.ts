import type { NextFunction } from 'express';
import type { CaptureContext, RequestStart } from '../lib/capture/buildEvent';
import { buildRequestEvent, statusAtEnd } from '../lib/capture/buildEvent';
import { uuidv7 } from '../lib/util/ids';
import { systemEvent } from '../lib/store/systemEvent';
import { sessionNoteEvent } from '../lib/capture/sessionNote';
import { resolveTenantId, resolveUserId } from '../lib/capture/identity';
import type { ActivityEvent, RecordInput, RequestActivity, TrackedRequest, TrackedResponse } from '../lib/types';

export interface MiddlewareDeps {
  capture: CaptureContext;
  /** Takes a finished request's event; synchronous and never throws. */
  enqueue(event: ActivityEvent): void;
  /** Records a domain event, with the request's context filled in. */
  record(input: RecordInput, defaults: Partial<ActivityEvent>): Promise<void>;
}

export type ActivityMiddleware = (req: TrackedRequest, res: TrackedResponse, next: NextFunction) => void;

/**
 * The request path: a few property reads at the start, one event built when the response ends or
 * the client goes away, handed to the recorder without waiting. Nothing here can throw into the app.
 */
export function createActivityMiddleware(deps: MiddlewareDeps): ActivityMiddleware {
  const { capture } = deps;
  return function activityTracking(req, res, next) {
    let start: RequestStart;
    try {
      // A tracker mounted twice on one path (or on an app and its sub-app) records the request once.
      if (req.activity instanceof LinkedActivity || capture.config.skip?.(req)) {
        next();
        return;
      }
      const startedAt = Date.now();
      const socket = req.socket ?? null;
      const ip = normalizeIp(req.ip ?? socket?.remoteAddress);
      const userAgentHeader = req.headers['user-agent'];
      const userAgent = typeof userAgentHeader === 'string' && userAgentHeader !== '' ? userAgentHeader : null;
      start = {
        id: uuidv7(startedAt),
        startedAt,
        startMonotonic: performance.now(),
        ip,
        userAgent,
        sessionId: '',
        fingerprint: null,
        sessionSource: null,
        tokenHash: null,
        sessionNote: null,
        socket,
        socketBytesWritten: socket?.bytesWritten ?? 0,
      };
      start.sessionId = capture.sessions.atStart(req, res, start);
      req.activity = new LinkedActivity(deps, req, start);
    } catch (error) {
      capture.report('middleware start', error);
      next();
      return;
    }

    // Node emits 'close' on every response, after 'finish' when it completed and alone when the
    // client went away first: one listener sees both, once.
    const onEnd = (): void => {
      const aborted = !res.writableFinished;
      try {
        const event = buildRequestEvent(capture, req, res, start, aborted);
        deps.enqueue(event);
        if (start.sessionNote !== null) deps.enqueue(sessionNoteEvent(event, start.sessionNote));
      } catch (error) {
        capture.report('capture', error);
        // Still a request that happened: keep what was known for certain when it started.
        deps.enqueue(fallbackEvent(req, res, start, aborted));
      }
    };
    res.on('close', onEnd);
    next();
  };
}

/** `req.activity`: lets a route name its own activity and record events linked to the request. */
class LinkedActivity implements RequestActivity {
  userId: RequestActivity['userId'];
  activityType: RequestActivity['activityType'];
  type: RequestActivity['type'];
  entityType: RequestActivity['entityType'];
  entityId: RequestActivity['entityId'];
  action: RequestActivity['action'];
  details: RequestActivity['details'];

  constructor(private readonly deps: MiddlewareDeps, private readonly req: TrackedRequest, private readonly start: RequestStart) {}

  record(input: RecordInput): Promise<void> {
    const { capture } = this.deps;
    const agent = capture.userAgents.parse(this.start.userAgent);
    let userId: string | null = null;
    let tenantId: string | null = null;
    try {
      userId = resolveUserId(this.req, capture.config, capture.tokens);
    } catch (error) {
      capture.report('getUserId option', error);
    }
    try {
      tenantId = resolveTenantId(this.req, capture.config);
    } catch (error) {
      capture.report('getTenantId option', error);
    }
    return this.deps.record(input, {
      userId,
      sessionId: capture.sessions.atEnd(this.req, null, this.start, userId),
      ipAddress: this.start.ip,
      userAgent: this.start.userAgent,
      browser: agent.browser,
      operatingSystem: agent.operatingSystem,
      deviceInfo: agent.deviceInfo,
      location: capture.geo.locate(this.start.ip),
      tenantId,
    });
  }
}

/** The row of a request whose full capture failed: nothing read from the app, nothing that needs sanitizing. */
function fallbackEvent(req: TrackedRequest, res: TrackedResponse, start: RequestStart, aborted: boolean): ActivityEvent {
  const duration = performance.now() - start.startMonotonic;
  const statusCode = statusAtEnd(res, aborted);
  return systemEvent({
    id: start.id, sessionId: start.sessionId, activityType: statusCode >= 500 ? 'error' : 'system_action',
    details: { captureFailed: true }, ipAddress: start.ip, duration, startTime: start.startedAt, endTime: start.startedAt + duration,
    method: typeof req.method === 'string' ? req.method.slice(0, 16).replace(/[^A-Z]/gi, '') : null,
    statusCode, success: !aborted && statusCode < 400,
  });
}

/** IPv4 clients on a dual-stack socket appear as ::ffff:a.b.c.d; store the plain form. */
export function normalizeIp(ip: string | undefined): string | null {
  if (!ip) return null;
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
