export interface MessageOptions {
  /** Drop the ` (ERR_AT_…)` code an ActivityTrackingError appends, for a message that is quoted inside another one. */
  withoutCode?: boolean;
  /** An Error's stack (which starts with its message) where it has one: for a failure nobody will see again. */
  stack?: boolean;
}

/** What to log or show for anything thrown: an Error's message, else the value as text. */
export function messageOf(error: unknown, options: MessageOptions = {}): string {
  if (!(error instanceof Error)) return String(error);
  if (options.stack) return error.stack ?? error.message;
  return options.withoutCode ? error.message.replace(/ \(ERR_AT_\w+\)$/, '') : error.message;
}
