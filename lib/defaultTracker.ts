import type { Router } from 'express';
import { ActivityTrackingError } from './errors';
import { createActivityTracker, type ActivityTracker } from './tracker';
import type { ActivityMiddleware } from '../middleware/activityMiddleware';
import type { Options } from './types';

let shared: { tracker: ActivityTracker; options: Options } | undefined;

/**
 * `activityTracking()` and `activityTrackingRouter()` share one tracker built from the environment,
 * so the one-liners see the same database and queue. Options given to both must agree.
 */
export function defaultTracker(options: Options | undefined, caller: string): ActivityTracker {
  rejectCallWithoutParentheses(options, caller);
  if (!shared) {
    shared = { tracker: createActivityTracker(options), options: { ...options } };
    return shared.tracker;
  }
  for (const [key, value] of Object.entries(options ?? {})) {
    const existing = shared.options[key as keyof Options];
    if (existing !== undefined && existing !== value) {
      throw new ActivityTrackingError('ERR_AT_DEFAULT_TRACKER_CONFLICT',
        `${caller} was given option "${key}" with a different value than the shared default tracker already uses. Fix: give the option once, or build one tracker with createActivityTracker(options) and use tracker.middleware() and tracker.router()`);
    }
    if (existing === undefined) {
      throw new ActivityTrackingError('ERR_AT_DEFAULT_TRACKER_CONFLICT',
        `${caller} was given option "${key}" after the shared default tracker was built without it. Fix: pass it to the first call, or use createActivityTracker(options)`);
    }
  }
  return shared.tracker;
}

/** Records every request; the one-line form. */
export function activityTracking(options?: Options): ActivityMiddleware {
  return defaultTracker(options, 'activityTracking()').middleware();
}

/** The report routes; the one-line form. */
export function activityTrackingRouter(options?: Options): Router {
  return defaultTracker(options, 'activityTrackingRouter()').router();
}

/** Closes the shared tracker, if one was built (tests and graceful shutdown). */
export async function closeDefaultTracker(): Promise<void> {
  const current = shared;
  shared = undefined;
  if (current) await current.tracker.close();
}

/** `app.use(activityTracking)` hands Express the factory itself; it then gets (req, res, next). */
function rejectCallWithoutParentheses(options: unknown, caller: string): void {
  if (typeof options === 'object' && options !== null && 'method' in options && 'headers' in options) {
    const name = caller.replace('()', '');
    throw new ActivityTrackingError('ERR_AT_CALLED_WITHOUT_OPTIONS',
      `It looks like you wrote app.use(${name}); write app.use(${name}()) instead: ${name} is a factory that returns the middleware`);
  }
}
