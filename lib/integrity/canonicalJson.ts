/**
 * JSON text with every object's keys in one order (sorted), and strings made well-formed (a lone
 * surrogate becomes U+FFFD, as it would on its way into PostgreSQL's UTF-8). The writer stores this
 * text in jsonb columns and hashes it; the verifier parses what jsonb gives back (its own key order
 * and spacing) and gets the same text again, since jsonb keeps every key and the exact number.
 * Otherwise it is JSON.stringify's text: undefined, functions and symbols are left out of objects
 * and are null in arrays, toJSON is honoured, non-finite numbers are null, a BigInt throws. Null
 * when the value has no JSON form (undefined) or is JSON null, which is stored as SQL NULL.
 *
 * Written out by hand rather than as a JSON.stringify replacer: a replacer is a call per value and
 * a sorted copy per object, five times the cost on the write path.
 */
export function canonicalJson(value: unknown): string | null {
  const text = serialize(value, '');
  return text === undefined || text === 'null' ? null : text;
}

function serialize(input: unknown, key: string | number): string | undefined {
  let value = input;
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(key: string): unknown }).toJSON(String(key));
  }
  switch (typeof value) {
    case 'string': return JSON.stringify(wellFormed(value));
    case 'number': return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean': return value ? 'true' : 'false';
    case 'bigint': throw new TypeError('Do not know how to serialize a BigInt');
    case 'object': break;
    default: return undefined;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i += 1) text += (i === 0 ? '' : ',') + (serialize(value[i], i) ?? 'null');
    return `${text}]`;
  }
  if (value instanceof Number || value instanceof String || value instanceof Boolean) return serialize(value.valueOf(), key);
  return serializeObject(value as Record<string, unknown>);
}

/**
 * The text of plain objects that can never change (frozen, with only primitives and such objects
 * inside), by identity: the device and location of a request come from caches shared by every
 * request of the same client, and are written once each instead of once a row.
 */
const FROZEN_TEXT = new WeakMap<object, string>();

function serializeObject(source: Record<string, unknown>): string {
  const known = FROZEN_TEXT.get(source);
  if (known !== undefined) return known;
  const text = writeObject(source);
  if (Object.isFrozen(source) && Object.getPrototypeOf(source) === Object.prototype && isDeeplyFrozen(source)) FROZEN_TEXT.set(source, text);
  return text;
}

function isDeeplyFrozen(source: Record<string, unknown>): boolean {
  for (const key of Object.keys(source)) {
    // A getter may answer differently each time, frozen or not.
    if (Object.getOwnPropertyDescriptor(source, key)?.get !== undefined) return false;
    const member = source[key];
    if (member !== null && typeof member === 'object' && !FROZEN_TEXT.has(member)) return false;
    if (typeof member === 'function') return false;
  }
  return true;
}

function writeObject(source: Record<string, unknown>): string {
  const keys = Object.keys(source);
  let sorted = true;
  let wellFormedKeys = true;
  for (let i = 0; i < keys.length; i += 1) {
    const name = keys[i] as string;
    if (i > 0 && (keys[i - 1] as string) > name) sorted = false;
    if (!(name as unknown as WellFormedString).isWellFormed()) wellFormedKeys = false;
  }
  // Two keys that differ only in a lone surrogate are one key in jsonb (the last one wins, as there).
  const names = wellFormedKeys ? keys : [...new Set(keys.map(wellFormed))];
  const from = wellFormedKeys ? null : new Map(keys.map((name) => [wellFormed(name), name] as const));
  if (!sorted || !wellFormedKeys) names.sort();
  let text = '{';
  let first = true;
  for (const name of names) {
    const member = serialize(source[from ? (from.get(name) as string) : name], name);
    if (member === undefined) continue;
    text += (first ? '' : ',') + JSON.stringify(name) + ':' + member;
    first = false;
  }
  return `${text}}`;
}

interface WellFormedString { isWellFormed(): boolean; toWellFormed(): string }

/** `text` with lone surrogates replaced by U+FFFD (ES2024 String methods, in every supported Node). */
export function wellFormed(text: string): string {
  const s = text as unknown as WellFormedString;
  return s.isWellFormed() ? text : s.toWellFormed();
}
