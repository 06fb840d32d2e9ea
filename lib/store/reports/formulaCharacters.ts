/**
 * The characters CSV formula neutralization looks at, as UTF-16 code unit ranges (both ends
 * included). Node's scan (neutralizeFormula in lib/router/csv.ts) and PostgreSQL's regular
 * expression (formulaSql.ts) are both built from these lists, so the two exports cannot drift apart.
 */
export type CodeRange = readonly [from: number, to: number];

/** `=` `+` `-` `@` and their full-width forms, which some spreadsheets normalize. */
export const FORMULA_TRIGGERS: readonly CodeRange[] = [
  [0x3d, 0x3d], [0x2b, 0x2b], [0x2d, 0x2d], [0x40, 0x40],
  [0xff1d, 0xff1d], [0xff0b, 0xff0b], [0xff0d, 0xff0d], [0xff20, 0xff20],
];

/** `,` `;` tab, LF, CR: where a spreadsheet may start a new cell, whatever list separator it uses. */
export const CELL_SEPARATORS: readonly CodeRange[] = [[0x2c, 0x2c], [0x3b, 0x3b], [0x09, 0x0a], [0x0d, 0x0d]];

/** Tab, LF, CR: a cell that opens with one is suspect on its own. */
export const LEADING_BREAKS: readonly CodeRange[] = [[0x09, 0x0a], [0x0d, 0x0d]];

/** Spaces, C0 and C1 controls, no-break and Unicode spaces, zero-width and bidi format characters, the BOM: what a spreadsheet may drop before a trigger. */
export const INVISIBLES: readonly CodeRange[] = [
  [0x00, 0x20], [0x7f, 0xa0], [0x1680, 0x1680], [0x2000, 0x200f],
  [0x2028, 0x202f], [0x205f, 0x206f], [0x3000, 0x3000], [0xfeff, 0xfeff],
];
