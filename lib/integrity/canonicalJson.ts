/**
 * JSON text with every object's keys in one order (sorted), and strings made well-formed (a lone
 * surrogate becomes U+FFFD, as it would on its way into PostgreSQL's UTF-8). The writer stores this
 * text in jsonb columns and hashes it; the verifier parses what jsonb gives back (its own key order
 * and spacing) and gets the same text again, since jsonb keeps every key and the exact number.
 * Undefined, functions and symbols go as JSON.stringify drops them; toJSON is honoured. Null when
 * the value has no JSON form (undefined) or is JSON null, which is stored as SQL NULL.
 */
export function canonicalJson(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = JSON.stringify(value, sortedKeys);
  return text === undefined || text === 'null' ? null : text;
}

function sortedKeys(_key: string, value: unknown): unknown {
  if (typeof value === 'string') return wellFormed(value);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const source = value as Record<string, unknown>;
  const keys = Object.keys(source).sort();
  // No prototype: a "__proto__" key stays an own property, as it is in the parsed JSON.
  const sorted: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of keys) sorted[wellFormed(key)] = source[key];
  return sorted;
}

interface WellFormedString { isWellFormed(): boolean; toWellFormed(): string }

/** `text` with lone surrogates replaced by U+FFFD (ES2024 String methods, in every supported Node). */
export function wellFormed(text: string): string {
  const s = text as unknown as WellFormedString;
  return s.isWellFormed() ? text : s.toWellFormed();
}
