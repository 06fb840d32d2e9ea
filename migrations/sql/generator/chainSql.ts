import { chainColumns } from '../../../lib/store/columns';

/**
 * The SQL side of the hash chain's encoding (lib/integrity/encoding.ts describes it): the hash
 * functions a migration installs and the fragments that call them. Nothing here runs in the
 * package: migrations install frozen copies (migrations/sql/*.ts, written by `npm run sql:freeze`),
 * and tests and benchmarks use the fragments to call the installed functions.
 */

type Column = readonly [column: string, type: string];

const V1_COLUMNS: readonly Column[] = chainColumns(1).map(({ column, type }) => [column, type] as const);
const V2_COLUMNS: readonly Column[] = chainColumns(2).map(({ column, type }) => [column, type] as const);

/** `items` cut into lines of these lengths (the last line takes the rest): the published SQL's layout. */
function inLines<T>(items: readonly T[], lengths: readonly number[]): T[][] {
  const lines: T[][] = [];
  let start = 0;
  for (const length of lengths) {
    lines.push(items.slice(start, start + length));
    start += length;
  }
  lines.push(items.slice(start));
  return lines;
}

/** The version-1 content columns, in encoding order, in the lines the published SQL breaks them into. */
const V1_LINES: ReadonlyArray<readonly Column[]> = inLines([['position', 'bigint'] as const, ...V1_COLUMNS], [5, 6, 5, 6]);

/** Items joined by ', ' within a line and ',\n  ' between lines. */
const listLines = (lines: ReadonlyArray<readonly string[]>): string => lines.filter((line) => line.length > 0).map((line) => line.join(', ')).join(',\n  ');

/** The content parameters (version 1 lines, then version 2 on the last line), rendered by `item`, without those `skip` names. */
function contentList(item: (column: Column) => string, skip: readonly string[] = []): string {
  const lines = V1_LINES.map((line) => line.filter(([column]) => !skip.includes(column)).map(item));
  // Version 2's parameters continue the last version-1 line.
  const last = [...(lines.pop() ?? []), ...V2_COLUMNS.map(item)];
  return listLines([...lines, last]);
}
const parameter = ([column, type]: Column): string => `p_${column} ${type}`;
const argument = ([column]: Column): string => `p_${column}`;

const V1_ARGUMENTS = listLines(V1_LINES.map((line) => line.map(argument)));
const V2_ARGUMENTS = V2_COLUMNS.map(argument).join(', ');

/** The types of activity_tracking_row_hash's arguments, in order: its signature. */
export const ROW_HASH_SIGNATURE = ['bigint', 'text', ...V1_LINES.flat().slice(1).map(([, type]) => type), ...V2_COLUMNS.map(([, type]) => type)].join(', ');

/** A record field's expression: floats by their bytes and times as epoch milliseconds, so their text never depends on settings. */
const encoded = ([column, type]: Column): string =>
  type === 'double precision' ? `encode(float8send(p_${column}), 'hex')` : type === 'timestamptz' ? `round(extract(epoch from p_${column}) * 1000)` : `p_${column}`;
const V1_RECORD = `row(
    ${inLines(['\'v1\'', 'p_position', ...V1_COLUMNS.map(encoded)], [9, 8, 2]).map((line) => line.join(', ')).join(',\n    ')}
  )::text`;
const V2_RECORD = `row('v2', ${V2_COLUMNS.map(encoded).join(', ')})::text`;

/**
 * The version-2 hash functions (the version-1 ones, which these call for rows without version-2
 * values, are installed by migration 20261125000000_integrity). The 25- and 41-argument functions are overloads.
 */
export const HASH_FUNCTIONS = [`
create or replace function activity_tracking_content_hash(${contentList(parameter)}) returns text language sql immutable parallel safe as $fn$
  select case when num_nonnulls(${V2_ARGUMENTS}) = 0
    then activity_tracking_content_hash(${V1_ARGUMENTS})
    else encode(sha256(convert_to(${V1_RECORD} || ${V2_RECORD}, 'UTF8')), 'hex')
  end
$fn$`, `
create or replace function activity_tracking_row_hash(p_position bigint, p_prev_hash text, ${contentList(parameter, ['position'])})
returns text language sql immutable parallel safe as $fn$
  select activity_tracking_link(p_prev_hash, activity_tracking_content_hash(${contentList(argument)}))
$fn$`];

/** The columns activity_tracking_row_hash reads from a user_activity row, in argument order, in the lines its callers break them into. */
const ROW_HASH_LINES: ReadonlyArray<readonly string[]> = [
  ...inLines(['chain_position', 'prev_hash', ...V1_COLUMNS.map(([column]) => column)], [9, 10]),
  V2_COLUMNS.map(([column]) => column),
];
/** The row hash arguments rendered by `item`, without those `skip` names. */
const rowHashList = (item: (column: string) => string, skip: readonly string[] = []): string =>
  listLines(ROW_HASH_LINES.map((line) => line.filter((column) => !skip.includes(column)).map(item)));

/** The hash arguments, as read from a user_activity row (`t`). */
export const ROW_HASH_ARGUMENTS = rowHashList((column) => `t.${column}`);
/** The content hash arguments: the row hash arguments without prev_hash. */
export const CONTENT_HASH_ARGUMENTS = rowHashList((column) => `t.${column}`, ['prev_hash']);
/** The content columns of user_activity, as a select list. */
export const CONTENT_COLUMNS = rowHashList((column) => column, ['chain_position', 'prev_hash']);

/**
 * Chains `rows` (a relation with the user_activity content columns and a batch order `k` from 1)
 * after the head position and hash: yields every column of rows plus position, prev_hash and
 * row_hash. One pass, whatever the batch size.
 */
export function chainRowsSql(rows: string, headPosition: string, headHash: string): string {
  const content = rowHashList((column) => (column === 'chain_position' ? `${headPosition} + r.k` : `r.${column}`), ['prev_hash']);
  return `select hashed.*, coalesce(lag(hashed.row_hash) over (order by hashed.k), ${headHash}) as prev_hash
    from (
      select r.*, ${headPosition} + r.k as position,
             activity_tracking_chain(activity_tracking_content_hash(${content}), ${headHash}) over (order by r.k) as row_hash
        from ${rows} r
    ) hashed`;
}
