import crypto, { createHash } from 'node:crypto';
import { chainColumns, type SqlType } from '../store/columns';
import { storedContentHash, V3_CONTENT_COLUMNS, V3_SCORED_COLUMNS } from './encodingV3';

/**
 * The chain's record encoding (lib/integrity/encoding.ts) computed in JavaScript, so `verifyChain`
 * never trusts a function stored in the database: whoever can replace `activity_tracking_row_hash`
 * could make it return the stored hash. Column values are read through PostgreSQL's built-in type
 * output only (`::text`, `float8send`, `extract`), which a database user cannot redefine; the record
 * text, its quoting and both hashes are made here.
 */

/** A value as record_out prints it: text from the type's output function, a boolean, or NULL. */
export type FieldValue = string | boolean | null;

type Kind = 'text' | 'cast' | 'float' | 'time' | 'bool';

/** How a column is read: text as stored, through its type's output, as float bytes, as epoch milliseconds, or as a boolean. */
function kindOf(type: SqlType): Kind {
  switch (type) {
    case 'text': return 'text';
    case 'double precision': return 'float';
    case 'timestamptz': return 'time';
    case 'boolean': return 'bool';
    default: return 'cast';
  }
}

/** Each version's columns (after the position, for version 1), in encoding order, with how each is read. */
const V1_FIELDS: ReadonlyArray<readonly [column: string, kind: Kind]> = chainColumns(1).map(({ column, type }) => [column, kindOf(type)] as const);
const V2_FIELDS: ReadonlyArray<readonly [column: string, kind: Kind]> = chainColumns(2).map(({ column, type }) => [column, kindOf(type)] as const);

function readExpression(column: string, kind: Kind): string {
  switch (kind) {
    case 'text': case 'bool': return `t.${column}`;
    case 'cast': return `t.${column}::text`;
    case 'float': return `encode(float8send(t.${column}), 'hex')`;
    case 'time': return `round(extract(epoch from t.${column}) * 1000)::text`;
  }
}

/**
 * The select list (over user_activity `t`) that reads every hash input: position, prev_hash,
 * row_hash, v1_0.. and v2_0.. in encoding order, plus start and created_at as epoch milliseconds.
 */
export const HASH_INPUT_COLUMNS = [
  't.chain_position::text as position', 't.prev_hash', 't.row_hash',
  ...V1_FIELDS.map(([column, kind], i) => `${readExpression(column, kind)} as v1_${i}`),
  ...V2_FIELDS.map(([column, kind], i) => `${readExpression(column, kind)} as v2_${i}`),
  'round(extract(epoch from t.created_at) * 1000)::text as created_ms', 't.hash_version',
].join(', ');

/** One row's hash inputs as read with HASH_INPUT_COLUMNS. */
export interface HashInputs {
  position: string;
  prevHash: string | null;
  rowHash: string | null;
  v1: FieldValue[];
  v2: FieldValue[];
  createdMs: string | null;
  /** The chain encoding the row was hashed with: 3, or null for versions 1 and 2 (told apart by their values). */
  version: number | null;
}

const START_TIME_INDEX = V1_FIELDS.findIndex(([column]) => column === 'start_time');
const ACTION_INDEX = V1_FIELDS.findIndex(([column]) => column === 'action');
const ACTIVITY_TYPE_INDEX = V1_FIELDS.findIndex(([column]) => column === 'activity_type');
const ENTITY_TYPE_INDEX = V1_FIELDS.findIndex(([column]) => column === 'entity_type');
const DETAILS_INDEX = V1_FIELDS.findIndex(([column]) => column === 'details');

export function hashInputsOf(row: Record<string, unknown>): HashInputs {
  const field = (name: string): FieldValue => {
    const value = row[name];
    if (value === null || value === undefined) return null;
    return typeof value === 'boolean' ? value : String(value);
  };
  return {
    position: String(row['position']),
    prevHash: (row['prev_hash'] as string | null) ?? null,
    rowHash: (row['row_hash'] as string | null) ?? null,
    v1: V1_FIELDS.map((_f, i) => field(`v1_${i}`)),
    v2: V2_FIELDS.map((_f, i) => field(`v2_${i}`)),
    createdMs: field('created_ms') as string | null,
    version: row['hash_version'] === null || row['hash_version'] === undefined ? null : Number(row['hash_version']),
  };
}

/** Epoch milliseconds of start_time (null when there is none). */
export function startMs(inputs: HashInputs): number | null {
  const value = inputs.v1[START_TIME_INDEX];
  return typeof value === 'string' ? Number(value) : null;
}

/** Epoch milliseconds of created_at, the time the database stored the row. */
export function createdMs(inputs: HashInputs): number | null {
  return inputs.createdMs === null ? null : Number(inputs.createdMs);
}

/** The fields a retention record is recognized by, and its details as JSON text. */
export function recordFields(inputs: HashInputs): { action: FieldValue; activityType: FieldValue; entityType: FieldValue; details: FieldValue } {
  return { action: inputs.v1[ACTION_INDEX] ?? null, activityType: inputs.v1[ACTIVITY_TYPE_INDEX] ?? null, entityType: inputs.v1[ENTITY_TYPE_INDEX] ?? null, details: inputs.v1[DETAILS_INDEX] ?? null };
}

/** Characters that make record_out quote a value: its own delimiters and C isspace() (ASCII only). */
const NEEDS_QUOTES = /["\\(),\t\n\v\f\r ]/;

/**
 * PostgreSQL's record_out: `(a,b,...)`, NULL as nothing, a value quoted when it is empty or holds
 * `"` `\` `(` `)` `,` or whitespace, with `"` and `\` doubled inside the quotes; booleans t and f.
 */
export function recordText(values: readonly FieldValue[]): string {
  let text = '(';
  for (let i = 0; i < values.length; i += 1) {
    if (i > 0) text += ',';
    const value = values[i];
    if (value === null || value === undefined) continue;
    const shown = typeof value === 'boolean' ? (value ? 't' : 'f') : value;
    text += shown !== '' && !NEEDS_QUOTES.test(shown) ? shown : `"${shown.replace(/["\\]/g, '$&$&')}"`;
  }
  return `${text})`;
}

/** crypto.hash (Node 20.12 and later) hashes a short text in one call, without a Hash object per row. */
const oneShotHash = (crypto as unknown as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

function sha256Hex(text: string): string {
  return oneShotHash ? oneShotHash('sha256', text, 'hex') : createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The text the content hash covers at `position`: version 1, followed by version 2 when any version-2 value is set. */
export function contentText(inputs: HashInputs, position: string = inputs.position): string {
  const v1 = recordText(['v1', position, ...inputs.v1]);
  return inputs.v2.every((value) => value === null) ? v1 : v1 + recordText(['v2', ...inputs.v2]);
}

export function contentHash(inputs: HashInputs, position?: string): string {
  return sha256Hex(contentText(inputs, position));
}

/** Where each column's stored text is in HashInputs: its encoding version's array and index. */
function placeOf(column: string): readonly ['v1' | 'v2', number] {
  const v1 = V1_FIELDS.findIndex(([name]) => name === column);
  if (v1 >= 0) return ['v1', v1];
  const v2 = V2_FIELDS.findIndex(([name]) => name === column);
  if (v2 >= 0) return ['v2', v2];
  throw new Error(`activity_tracking: column ${column} is not read for the chain; add it to HASH_INPUT_COLUMNS`);
}
const V3_CONTENT_PLACES = V3_CONTENT_COLUMNS.map(({ column }) => placeOf(column));
const V3_SCORED_PLACES = V3_SCORED_COLUMNS.map(({ column }) => placeOf(column));

/** Version 3's link: prev_hash, the writer's content hash, then the position and the scored columns as a record. */
function rowHashV3(inputs: HashInputs, prevHash: string, position: string): string {
  const content = storedContentHash(V3_CONTENT_PLACES.map(([version, index]) => inputs[version][index] ?? null));
  const scored = V3_SCORED_PLACES.map(([version, index]) => inputs[version][index] ?? null);
  return linkHashV3(prevHash, content, position, scored);
}

/**
 * Version 3's row hash from its parts, as the append function computes it under the chain lock:
 * for a loader that has each row's content hash already (bench/bigDataChain.ts).
 */
export function linkHashV3(prevHash: string, contentHash: string, position: string, scored: readonly FieldValue[]): string {
  return sha256Hex(prevHash + contentHash + recordText(['v3', position, ...scored]));
}

/** The row hash: SHA-256 of prev_hash followed by the content hash; none without a prev_hash (as in SQL, where NULL || text is NULL). */
export function rowHashOf(inputs: HashInputs, position: string = inputs.position): string | null {
  if (inputs.prevHash === null) return null;
  if (inputs.version === 3) return rowHashV3(inputs, inputs.prevHash, position);
  return sha256Hex(inputs.prevHash + contentHash(inputs, position));
}
