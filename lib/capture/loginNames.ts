/**
 * What a failed login typed as its name. People type their password into the name field often
 * enough that a name which is no account must not be kept; a name the app recognised is an
 * account, and the row stays useful with it (see the dropUnknownLoginNames option).
 */
import { normalizeKey } from './sanitize';

/** What an unknown name is replaced with: the row still shows that a name was sent, not which. */
export const UNKNOWN_ACCOUNT = '[unknown account]';

// A urlencoded parser without nesting keeps `user[email]` as one key: its last part names the field.
const LAST_BRACKETED = /\[([^[\]]*)\]$/;

/**
 * Replaces, in place, the value of every key of `value` named in `fields` (normalized), at any
 * depth and inside arrays. `value` is sanitizer output: plain data, bounded by the `limits`.
 */
export function dropLoginNames(value: unknown, fields: ReadonlySet<string>): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) dropLoginNames(item, fields);
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (namesLogin(key, fields)) record[key] = UNKNOWN_ACCOUNT;
    else dropLoginNames(record[key], fields);
  }
}

function namesLogin(key: string, fields: ReadonlySet<string>): boolean {
  if (fields.has(normalizeKey(key))) return true;
  const part = key.endsWith(']') ? LAST_BRACKETED.exec(key)?.[1] : undefined;
  return part !== undefined && fields.has(normalizeKey(part));
}
