import crypto from 'node:crypto';
import { insertColumns, scoredColumns, type SqlType, type WrittenColumn } from '../store/columns';
import type { ActivityEvent } from '../types';
import { canonicalJson, wellFormed } from './canonicalJson';

/**
 * Chain encoding version 3 (lib/integrity/encoding.ts): the writer hashes each row's content
 * before it sends it, and the database only links, under the chain lock:
 *
 *   content text  ["v3", <every column of the row in insert order, scored columns left out>]
 *                 as JSON, trailing nulls left off (so a column added at the end leaves every
 *                 earlier row's text as it was); times as epoch milliseconds, floats as JSON numbers,
 *                 jsonb as canonical JSON (canonicalJson.ts), uuids in lower case
 *   content hash  hex SHA-256 of the content text (UTF-8)
 *   row hash      hex SHA-256 of prev_hash ‖ content hash ‖ ('v3',position,<scored columns>)
 *                 (the scored columns, in chain order, as record text: lib/integrity/recordEncoding.ts)
 *
 * The scored columns (risk score, factors, anomaly, severity) are linked in SQL because the
 * database may set them as it stores the row; the position, because only the lock knows it. Both
 * are still covered by the row hash. The writer's and the verifier's texts come from the functions
 * here, one from event values and one from what PostgreSQL gives back, so they cannot drift apart.
 */

/** The columns the content text lists, in order. */
export const V3_CONTENT_COLUMNS: readonly WrittenColumn[] = (() => {
  const scored = new Set(scoredColumns().map((c) => c.column));
  return insertColumns().filter((c) => !scored.has(c.column));
})();
/** The columns the row hash links in SQL, in chain order. */
export const V3_SCORED_COLUMNS: readonly WrittenColumn[] = scoredColumns();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LOOSE_UUID = /^\{?(?:[0-9a-fA-F]{4}-?){8}\}?$/;

/** JSON text of one value as it will be stored: the wire form and the content text's element are the same text. */
export function wireValue(type: SqlType, value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (type) {
    case 'text': return JSON.stringify(typeof value === 'string' ? wellFormed(value) : typeof value === 'object' ? JSON.stringify(value) : String(value));
    case 'uuid': return JSON.stringify(uuidText(String(value)));
    case 'integer': return typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : 'null';
    case 'double precision': return typeof value === 'number' && Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'timestamptz': return timeText(value);
    case 'boolean': return value === true ? 'true' : value === false ? 'false' : 'null';
    case 'jsonb': return canonicalJson(value) ?? 'null';
  }
}

/** PostgreSQL prints a uuid in lower case with hyphens, whatever form it was given in. */
function uuidText(text: string): string {
  if (UUID.test(text)) return text;
  if (!LOOSE_UUID.test(text)) return text;
  const hex = text.replace(/[{}-]/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Whole epoch milliseconds: what the verifier reads back (`round(extract(epoch from t) * 1000)`). */
function timeText(value: unknown): string {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Number.NaN;
  return Number.isFinite(ms) ? String(Math.round(ms)) : 'null';
}

/** The content text from each content column's wire text (trailing nulls left off). */
function contentTextOf(elements: string[]): string {
  let end = elements.length;
  while (end > 0 && elements[end - 1] === 'null') end -= 1;
  return end === elements.length ? `["v3",${elements.join(',')}]` : `["v3",${elements.slice(0, end).join(',')}]`;
}

/** crypto.hash (Node 20.12+) hashes a short text in one call, without a Hash object per row. */
const oneShot = (crypto as unknown as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

function sha256Hex(text: string): string {
  return oneShot ? oneShot('sha256', text, 'hex') : crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * One event as the append function (activity_tracking_append_rows) takes it: a JSON array of its
 * content hash, the scored columns, then the content columns, each in its stored form.
 */
export function wireRow(event: ActivityEvent): string {
  const source = event as unknown as Record<string, unknown>;
  const content = new Array<string>(V3_CONTENT_COLUMNS.length);
  for (let i = 0; i < V3_CONTENT_COLUMNS.length; i += 1) {
    const column = V3_CONTENT_COLUMNS[i] as WrittenColumn;
    content[i] = wireValue(column.type, source[column.field]);
  }
  let scored = '';
  for (const column of V3_SCORED_COLUMNS) scored += `,${wireValue(column.type, source[column.field])}`;
  const hash = sha256Hex(contentTextOf(content));
  return `["${hash}"${scored},${content.join(',')}]`;
}

/** A batch for activity_tracking_append_rows: a JSON array of wire rows. */
export function wireBatch(events: readonly ActivityEvent[]): string {
  let text = '[';
  for (let i = 0; i < events.length; i += 1) text += (i === 0 ? '' : ',') + wireRow(events[i] as ActivityEvent);
  return `${text}]`;
}

/**
 * A stored value's text as PostgreSQL gives it to the verifier (recordEncoding.ts reads it: text
 * as stored, uuid and integer through their output, floats as the hex of their bytes, times as
 * epoch milliseconds, jsonb as jsonb prints it), turned into the content text's element.
 */
export function storedElement(type: SqlType, text: string | boolean | null): string {
  if (text === null) return 'null';
  if (typeof text === 'boolean') return text ? 'true' : 'false';
  switch (type) {
    case 'text': case 'uuid': return JSON.stringify(text);
    case 'integer': case 'timestamptz': return text;
    case 'double precision': return JSON.stringify(Buffer.from(text, 'hex').readDoubleBE(0));
    case 'jsonb': return canonicalJson(JSON.parse(text)) ?? 'null';
    case 'boolean': return text === 't' || text === 'true' ? 'true' : 'false';
  }
}

/** The content hash of a stored row, from its content columns' stored texts (in V3_CONTENT_COLUMNS order). */
export function storedContentHash(texts: ReadonlyArray<string | boolean | null>): string {
  return sha256Hex(contentTextOf(V3_CONTENT_COLUMNS.map((column, i) => storedElement(column.type, texts[i] ?? null))));
}
