/** Every error the package raises carries a stable code and says how to fix the problem. */
export type ActivityTrackingErrorCode =
  | 'ERR_AT_CALLED_WITHOUT_OPTIONS'
  | 'ERR_AT_UNKNOWN_OPTION'
  | 'ERR_AT_INVALID_OPTION'
  | 'ERR_AT_INVALID_ENV'
  | 'ERR_AT_SCHEMA_MISSING'
  | 'ERR_AT_SCHEMA_BEHIND'
  | 'ERR_AT_DATABASE'
  | 'ERR_AT_DATA_DIR_IN_USE'
  | 'ERR_AT_CLOSED'
  | 'ERR_AT_QUEUE_FULL'
  | 'ERR_AT_WRITE_TIMEOUT'
  | 'ERR_AT_JOURNAL_FULL'
  | 'ERR_AT_INVALID_EVENT'
  | 'ERR_AT_DEFAULT_TRACKER_CONFLICT'
  | 'ERR_AT_REPORT_AUTH_MISSING'
  | 'ERR_AT_CHECKPOINT_KEY'
  | 'ERR_AT_SIGNING_KEY'
  | 'ERR_AT_ARCHIVE';

export class ActivityTrackingError extends Error {
  readonly code: ActivityTrackingErrorCode;

  constructor(code: ActivityTrackingErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${message} (${code})`, options);
    this.name = 'ActivityTrackingError';
    this.code = code;
  }
}
