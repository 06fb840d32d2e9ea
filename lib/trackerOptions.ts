/** How the tracker itself reports and shuts down: its options, their defaults and their checks. */
import type { Logger } from './types';
import { checkBoolean, invalid } from './util/optionChecks';

export interface TrackerOptions {
  /**
   * On SIGTERM or SIGINT, close the tracker (within `closeTimeoutMs`), then let the signal take its usual course.
   * @default false
   */
  handleSignals?: boolean;
  /**
   * Where the package reports what it does and what fails.
   * @default `console`, `warn` and above
   */
  logger?: Logger;
}

export const TRACKER_DEFAULTS = {
  handleSignals: false,
} as const satisfies { [K in keyof TrackerOptions]?: unknown };

export interface ResolvedTrackerOptions {
  handleSignals: boolean;
  logger: Logger;
}

/** The default logger: warnings and errors on the console, nothing below. */
export const consoleLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message, context) => console.warn(`[activity-tracking] ${message}`, context ?? ''),
  error: (message, context) => console.error(`[activity-tracking] ${message}`, context ?? ''),
};

export function resolveTrackerOptions(opts: TrackerOptions): ResolvedTrackerOptions {
  const logger = opts.logger ?? consoleLogger;
  if (!isLogger(logger)) throw invalid('logger', logger, 'pass an object with debug, info, warn and error functions');
  const handleSignals = opts.handleSignals ?? TRACKER_DEFAULTS.handleSignals;
  checkBoolean('handleSignals', handleSignals);
  return { handleSignals, logger };
}

function isLogger(value: unknown): value is Logger {
  return typeof value === 'object' && value !== null
    && ['debug', 'info', 'warn', 'error'].every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}
