import type { Response } from 'express';
import { stringify, type Stringifier } from 'csv-stringify';

/**
 * CSV injection (OWASP "CSV Injection"), closed as a class rather than cell by cell:
 * - every non-empty cell is quoted (see startCsv), so no `,` `;` tab or line break inside a cell can
 *   start a new cell or row, whatever list separator the spreadsheet uses (Excel in many locales
 *   splits unquoted text on `;`);
 * - a text cell is prefixed with `'`, which spreadsheets show as text, when a formula trigger
 *   (= + - @ or their full-width forms, which some spreadsheets normalize) opens the cell or follows
 *   a `,` `;` tab or line break, even after whitespace, control or invisible format characters a
 *   spreadsheet may drop first; a cell that starts with a tab, CR or LF is prefixed too.
 * The scan is one pass over the cell, so its cost is linear in the cell whatever it holds.
 */
export function neutralizeFormula(text: string): string {
  return isFormulaRisk(text) ? `'${text}` : text;
}

function isFormulaRisk(text: string): boolean {
  const first = text.charCodeAt(0);
  if (first === 0x09 || first === 0x0a || first === 0x0d) return true;
  // At the start of the cell, or after a separator with nothing visible since.
  let atBoundary = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (atBoundary && isTrigger(c)) return true;
    if (isSeparator(c)) atBoundary = true;
    else if (!isInvisible(c)) atBoundary = false;
  }
  return false;
}

function isTrigger(c: number): boolean {
  return c === 0x3d || c === 0x2b || c === 0x2d || c === 0x40 || c === 0xff1d || c === 0xff0b || c === 0xff0d || c === 0xff20;
}

/** `,` `;` tab, LF, CR. */
function isSeparator(c: number): boolean {
  return c === 0x2c || c === 0x3b || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Spaces, C0 and C1 controls, no-break and Unicode spaces, zero-width and bidi format characters, the BOM. */
function isInvisible(c: number): boolean {
  return c <= 0x20 || (c >= 0x7f && c <= 0xa0) || c === 0x1680 || (c >= 0x2000 && c <= 0x200f)
    || (c >= 0x2028 && c <= 0x202f) || (c >= 0x205f && c <= 0x206f) || c === 0x3000 || c === 0xfeff;
}

/**
 * One CSV cell as text: null as empty, booleans as true/false, objects as JSON text, dates as ISO.
 * Text (JSON text included) is formula-neutralized; numbers and booleans are not, since they come
 * from typed columns and a negative number must stay a number.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return neutralizeFormula(value);
  return neutralizeFormula(JSON.stringify(value));
}

/** `<prefix>-<ISO timestamp without colons>.csv`, a name every file system accepts. */
export function csvFileName(prefix: string, at: Date = new Date()): string {
  return `${prefix}-${at.toISOString().replace(/:/g, '')}.csv`;
}

/** Writes CSV records to a response, waiting whenever the client reads slower than rows arrive. */
export interface CsvWriter {
  /** Writes one record; resolves once the stream can take more. Resolves at once after the client left. */
  write(cells: readonly unknown[]): Promise<void>;
  /** Ends the document; resolves when the response has finished or the client left. */
  end(): Promise<void>;
  /** Stops writing and drops the connection (a failure after bytes were sent). */
  abort(): void;
  /** True once the client went away before the document was complete. */
  readonly closed: boolean;
}

/**
 * Sets the download headers and starts a CSV document on `res` with `header` as its first row.
 * Every cell goes through `csvCell` and is quoted, so nothing reaches the file un-neutralized.
 */
export function startCsv(res: Response, fileName: string, header: readonly string[]): CsvWriter {
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${fileName}"`);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');

  // RFC 4180 line ends; every non-empty cell quoted (empty ones stay empty, as csv-parse reads them back).
  const stringifier: Stringifier = stringify({ eof: true, record_delimiter: '\r\n', quoted: true });
  let closed = false;
  const onClose = (): void => {
    if (res.writableFinished) return;
    closed = true;
    stringifier.unpipe(res);
    stringifier.destroy();
  };
  // The client may have gone while the first page was being read: then nothing is written at all.
  if (res.destroyed) closed = true;
  else res.once('close', onClose);
  stringifier.on('error', () => res.destroy());
  if (!closed) stringifier.pipe(res);

  const writeRecord = (cells: readonly unknown[]): Promise<void> => {
    if (closed) return Promise.resolve();
    if (stringifier.write(cells.map(csvCell))) return Promise.resolve();
    // Drained, or the client left: either way this page is done.
    return new Promise((resolve) => {
      const done = (): void => {
        stringifier.off('drain', done);
        res.off('close', done);
        resolve();
      };
      stringifier.once('drain', done);
      res.once('close', done);
    });
  };

  const writer: CsvWriter = {
    write: writeRecord,
    end: () => new Promise((resolve) => {
      if (closed || res.writableFinished) { resolve(); return; }
      res.once('close', () => resolve());
      res.once('finish', () => resolve());
      stringifier.end();
    }),
    abort: () => {
      closed = true;
      stringifier.unpipe(res);
      stringifier.destroy();
      res.destroy();
    },
    get closed() { return closed; },
  };
  void writeRecord(header);
  return writer;
}
