import type { Response } from 'express';
import { stringify, type Stringifier } from 'csv-stringify';

/**
 * First characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection"):
 * = + - @, tab and carriage return, and the full-width = + - @ that some spreadsheets normalize
 * to the ASCII ones.
 */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/** Prefixes text a spreadsheet would evaluate with a single quote, so it is shown as text. */
export function neutralizeFormula(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
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
 * Every cell goes through `csvCell`, so nothing reaches the file un-neutralized.
 */
export function startCsv(res: Response, fileName: string, header: readonly string[]): CsvWriter {
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${fileName}"`);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');

  // RFC 4180 line ends; a lone CR or LF inside a cell is quoted too (csv-stringify only quotes the full delimiter).
  const stringifier: Stringifier = stringify({ eof: true, record_delimiter: '\r\n', quoted_match: /[\r\n]/ });
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
