import type { FieldChange } from '../types';

/** A diff longer than this ends with one entry whose path is `…` (the before and after are kept whole). */
export const MAX_DIFF_ENTRIES = 200;

/**
 * The fields that differ between two (sanitized, JSON-like) values, as dotted paths: objects are
 * compared key by key, anything else (arrays included) as a whole. A field only before has
 * `after: null`, one only after `before: null`; a missing value is an empty object.
 */
export function fieldDiff(before: unknown, after: unknown): FieldChange[] {
  const changes: FieldChange[] = [];
  walk(before, after, '', changes);
  if (changes.length > MAX_DIFF_ENTRIES) {
    const omitted = changes.length - MAX_DIFF_ENTRIES + 1;
    changes.length = MAX_DIFF_ENTRIES - 1;
    changes.push({ path: '…', before: null, after: `${omitted} more changes` });
  }
  return changes;
}

function walk(before: unknown, after: unknown, path: string, out: FieldChange[]): void {
  // A record created (nothing before) or deleted (nothing after) lists its fields one by one.
  if (before == null && isPlainObject(after)) before = {};
  if (after == null && isPlainObject(before)) after = {};
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) walk(before[key], after[key], path === '' ? key : `${path}.${key}`, out);
    return;
  }
  if (!sameValue(before, after)) out.push({ path: path === '' ? '.' : path, before: before ?? null, after: after ?? null });
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((a === undefined || a === null) && (b === undefined || b === null)) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
