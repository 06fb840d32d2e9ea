import type { Database } from '../store/database';
import { chainColumns, type SqlType } from '../store/columns';
import { hashInputsOf, type HashInputs } from '../integrity/recordEncoding';

/**
 * One archived row: a JSON object of every user_activity column, in table order, each value
 * exactly what is stored, so the chain's hashes can be recomputed from the archive alone:
 *
 *   boolean, smallint, integer   JSON true/false, numbers
 *   double precision, real       JSON numbers (the shortest text that reads back as the same 8
 *                                bytes); "NaN", "Infinity", "-Infinity" and "-0" as strings
 *   timestamps                   ISO 8601 in UTC with microseconds, "2026-01-31T23:59:59.123000Z";
 *                                "infinity" and "-infinity"
 *   everything else              the type's text output as a string: bigint (chain_position),
 *                                uuid, text, and jsonb as jsonb prints it (its key order and
 *                                number forms are what the version 1 and 2 hashes cover, which a
 *                                JSON object parsed by JavaScript would not keep)
 *
 * NULL is null. The columns are read from the catalog, so a column added by a later migration is
 * archived too; each value is read through PostgreSQL's own output functions, which no session
 * setting changes (floats as their bytes, times as exact epoch seconds).
 */

type Encoding = 'as_is' | 'float' | 'time' | 'text';

export interface ArchivedColumn {
  name: string;
  encoding: Encoding;
}

const COLUMNS_SQL = `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type
  from pg_attribute a
 where a.attrelid = 'user_activity'::regclass and a.attnum > 0 and not a.attisdropped
 order by a.attnum`;

/** user_activity's columns in table order, each with how it is archived. */
export async function archivedColumns(db: Database): Promise<ArchivedColumn[]> {
  const found = (await db.raw(COLUMNS_SQL)) as { rows: Array<{ name: string; type: string }> };
  return found.rows.map(({ name, type }) => ({ name, encoding: encodingOf(type) }));
}

function encodingOf(type: string): Encoding {
  if (type === 'boolean' || type === 'smallint' || type === 'integer') return 'as_is';
  if (type === 'double precision' || type === 'real') return 'float';
  if (type.startsWith('timestamp')) return 'time';
  return 'text';
}

/** The select list (over user_activity `t`) that reads each column for encodeRow. */
export function archiveSelectList(columns: readonly ArchivedColumn[]): string {
  return columns.map(({ name, encoding }) => {
    const column = `t.${quoteIdentifier(name)}`;
    const read = encoding === 'as_is' ? column
      : encoding === 'float' ? `encode(float8send(${column}::float8), 'hex')`
        : encoding === 'time' ? `extract(epoch from ${column})::text`
          : `${column}::text`;
    return `${read} as ${quoteIdentifier(name)}`;
  }).join(', ');
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** One row as read with archiveSelectList, as its archive line (without the newline). */
export function encodeRow(columns: readonly ArchivedColumn[], row: Record<string, unknown>): string {
  const archived: Record<string, unknown> = {};
  for (const { name, encoding } of columns) {
    const value = row[name];
    archived[name] = value === null || value === undefined ? null
      : encoding === 'float' ? floatFromHex(String(value))
        : encoding === 'time' ? timeFromEpochText(String(value))
          : value;
  }
  return JSON.stringify(archived);
}

function floatFromHex(hex: string): number | string {
  const value = Buffer.from(hex, 'hex').readDoubleBE(0);
  if (Object.is(value, -0)) return '-0';
  return Number.isFinite(value) ? value : String(value);
}

const EPOCH_TEXT = /^(-?)(\d+)(?:\.(\d{1,6}))?$/;
const ISO_MICROS = /^(.*\.\d{3})(\d{3})Z$/;
/** The range of a JavaScript Date, in milliseconds either side of 1970. */
const DATE_LIMIT_MS = 8_640_000_000_000_000n;

/** `extract(epoch from t)::text` as ISO 8601 with microseconds; the epoch text itself beyond a Date's range. */
function timeFromEpochText(text: string): string {
  const micros = microsFromEpochText(text);
  if (micros === null) return text.toLowerCase();
  let ms = micros / 1000n;
  let rest = micros % 1000n;
  if (rest < 0n) {
    rest += 1000n;
    ms -= 1n;
  }
  if (ms > DATE_LIMIT_MS || ms < -DATE_LIMIT_MS) return text;
  return `${new Date(Number(ms)).toISOString().slice(0, -1)}${String(rest).padStart(3, '0')}Z`;
}

function microsFromEpochText(text: string): bigint | null {
  const match = EPOCH_TEXT.exec(text);
  if (!match) return null;
  const micros = BigInt(match[2] as string) * 1_000_000n + BigInt((match[3] ?? '').padEnd(6, '0'));
  return match[1] === '-' ? -micros : micros;
}

/** An archived time as epoch microseconds; null when it is not one. */
function microsOf(text: string): bigint | null {
  const iso = ISO_MICROS.exec(text);
  if (!iso) return microsFromEpochText(text);
  const ms = Date.parse(`${iso[1] as string}Z`);
  return Number.isFinite(ms) ? BigInt(ms) * 1000n + BigInt(iso[2] as string) : null;
}

/** Text no stored value reads as: an archived value of the wrong kind then fails its row's hash. */
const NOT_A_VALUE = '\u0000not a stored value';

/** `round(extract(epoch from t) * 1000)::text` (halves away from zero, as numeric rounds) from an archived time. */
function epochMsText(value: unknown): string {
  if (value === 'infinity') return 'Infinity';
  if (value === '-infinity') return '-Infinity';
  const micros = typeof value === 'string' ? microsOf(value) : null;
  if (micros === null) return NOT_A_VALUE;
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const ms = abs / 1000n + (abs % 1000n >= 500n ? 1n : 0n);
  return String(negative ? -ms : ms);
}

/** `encode(float8send(t), 'hex')` from an archived float. */
function floatHex(value: unknown): string {
  const number = typeof value === 'number' ? value
    : typeof value === 'string' && /^(?:NaN|-?Infinity|-0)$/.test(value) ? Number(value) : null;
  if (number === null) return NOT_A_VALUE;
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(number, 0);
  return bytes.toString('hex');
}

/** A hash input from an archived value: as recordEncoding.ts's HASH_INPUT_COLUMNS reads the column. */
function hashInput(type: SqlType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'double precision': return floatHex(value);
    case 'timestamptz': return epochMsText(value);
    case 'boolean': return typeof value === 'boolean' ? value : NOT_A_VALUE;
    case 'integer': return typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : NOT_A_VALUE;
    default: return typeof value === 'string' ? value : NOT_A_VALUE;
  }
}

const V1_COLUMNS = chainColumns(1);
const V2_COLUMNS = chainColumns(2);

/**
 * An archived row's hash inputs, in the form the verifier reads them from the database: so
 * `rowHashOf(archivedHashInputs(row))` is the row_hash the row was stored with, whatever encoding
 * version it was hashed with.
 */
export function archivedHashInputs(row: Readonly<Record<string, unknown>>): HashInputs {
  const read: Record<string, unknown> = {
    position: row['chain_position'],
    prev_hash: typeof row['prev_hash'] === 'string' ? row['prev_hash'] : null,
    row_hash: typeof row['row_hash'] === 'string' ? row['row_hash'] : null,
    created_ms: row['created_at'] === null || row['created_at'] === undefined ? null : epochMsText(row['created_at']),
    hash_version: row['hash_version'] ?? null,
  };
  V1_COLUMNS.forEach(({ column, type }, i) => { read[`v1_${i}`] = hashInput(type, row[column]); });
  V2_COLUMNS.forEach(({ column, type }, i) => { read[`v2_${i}`] = hashInput(type, row[column]); });
  return hashInputsOf(read);
}
