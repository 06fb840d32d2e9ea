import { escapeLiteral } from 'pg';
import { CELL_SEPARATORS, FORMULA_TRIGGERS, INVISIBLES, LEADING_BREAKS, type CodeRange } from './formulaCharacters';

/**
 * neutralizeFormula() of lib/router/csv.ts as one PostgreSQL regular expression. The scan there
 * flags a cell that opens with a tab, CR or LF, or in which a trigger follows the start or a
 * separator with only invisible characters between; that is exactly
 *   ^[leading breaks] | (^|[separators]) [invisibles]* [triggers]
 * A pattern without back references runs as an automaton, so the match is linear in the cell.
 * NUL is left out of the invisibles: PostgreSQL text cannot hold it. The group is a plain one, not
 * `(?:`: the export's SQL goes through knex, which takes every `?` for a placeholder.
 */
export const FORMULA_RISK_PATTERN = `^${charClass(LEADING_BREAKS)}|(^|${charClass(CELL_SEPARATORS)})${charClass(INVISIBLES)}*${charClass(FORMULA_TRIGGERS)}`;

/**
 * Whether any of `expressions` (SQL text) might need neutralizing, in one match instead of one per
 * cell: the cells joined behind LF (a separator, so each cell's start is a boundary; nulls skipped)
 * match this wherever one of them matches FORMULA_RISK_PATTERN, and a cell that opens with a break
 * shows as LF followed by a break. It may also say yes for a row that needs nothing (two LFs in a
 * row); it never says no for one that does, so the exact test runs only where this says yes.
 */
export function mayNeedNeutralizingSql(expressions: readonly string[]): string {
  const pattern = `\n${charClass(LEADING_BREAKS)}|${charClass(CELL_SEPARATORS)}${charClass(INVISIBLES)}*${charClass(FORMULA_TRIGGERS)}`;
  return `concat_ws(E'\\n', '', ${expressions.join(', ')}) ~ ${escapeLiteral(pattern)}`;
}

/** `expression` (SQL text) with a `'` in front when a spreadsheet could read it as a formula; null stays null. */
export function neutralizeFormulaSql(expression: string): string {
  return `case when ${expression} ~ ${escapeLiteral(FORMULA_RISK_PATTERN)} then '''' || ${expression} else ${expression} end`;
}

/** A bracket expression of the ranges, every character as a `\uXXXX` escape so none is special inside the brackets. */
function charClass(ranges: readonly CodeRange[]): string {
  const escape = (c: number): string => `\\u${c.toString(16).padStart(4, '0')}`;
  return `[${ranges.map(([from, to]) => {
    const start = Math.max(from, 1);
    return start === to ? escape(start) : `${escape(start)}-${escape(to)}`;
  }).join('')}]`;
}
