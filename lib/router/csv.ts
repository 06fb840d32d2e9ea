import type { Writable } from 'node:stream';
import type { Response } from 'express';
import { stringify, type Options, type Stringifier } from 'csv-stringify';
import { stringify as stringifySync } from 'csv-stringify/sync';
import { CELL_SEPARATORS, FORMULA_TRIGGERS, INVISIBLES, LEADING_BREAKS, type CodeRange } from '../store/reports/formulaCharacters';

/**
 * CSV injection (OWASP "CSV Injection"), closed as a class rather than cell by cell:
 * - every non-empty cell is quoted (see startCsv), so no `,` `;` tab or line break inside a cell can
 *   start a new cell or row, whatever list separator the spreadsheet uses (Excel in many locales
 *   splits unquoted text on `;`);
 * - a text cell is prefixed with `'`, which spreadsheets show as text, when a formula trigger
 *   (= + - @ or their full-width forms, which some spreadsheets normalize) opens the cell or follows
 *   a `,` `;` tab or line break, even after whitespace, control or invisible format characters a
 *   spreadsheet may drop first; a cell that starts with a tab, CR or LF is prefixed too.
 * The scan is one pass over the cell, so its cost is linear in the cell whatever it holds. The
 * characters are listed once, in lib/store/reports/formulaCharacters.ts, where PostgreSQL's copy of
 * this rule (the export's COPY) is built from too.
 */
export function neutralizeFormula(text: string): string {
  return isFormulaRisk(text) ? `'${text}` : text;
}

const TRIGGER = 1;
const SEPARATOR = 2;
const INVISIBLE = 4;
const LEADING = 8;

/** Each UTF-16 code unit's classes, as bits: one lookup per character instead of a chain of comparisons. */
const CLASSES = ((): Uint8Array => {
  const table = new Uint8Array(0x10000);
  const mark = (ranges: readonly CodeRange[], bit: number): void => {
    for (const [from, to] of ranges) for (let c = from; c <= to; c++) table[c] = (table[c] ?? 0) | bit;
  };
  mark(FORMULA_TRIGGERS, TRIGGER);
  mark(CELL_SEPARATORS, SEPARATOR);
  mark(INVISIBLES, INVISIBLE);
  mark(LEADING_BREAKS, LEADING);
  return table;
})();

function isFormulaRisk(text: string): boolean {
  if (text.length === 0) return false;
  if ((CLASSES[text.charCodeAt(0)] ?? 0) & LEADING) return true;
  // At the start of the cell, or after a separator with nothing visible since.
  let atBoundary = true;
  for (let i = 0; i < text.length; i++) {
    const classes = CLASSES[text.charCodeAt(i)] ?? 0;
    if (atBoundary && classes & TRIGGER) return true;
    if (classes & SEPARATOR) atBoundary = true;
    else if (!(classes & INVISIBLE)) atBoundary = false;
  }
  return false;
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

/**
 * One format for every CSV the package writes, whichever database produced the rows: LF line ends
 * (what PostgreSQL's COPY writes), and every non-empty cell quoted (empty ones stay empty, as
 * csv-parse reads them back, and as COPY writes a null).
 */
const CSV_FORMAT: Options = { eof: true, record_delimiter: '\n', quoted: true };

/** Writes to a CSV download, waiting whenever the client reads slower than data arrives. */
export interface CsvDownload<T> {
  /** Writes one piece; resolves once the stream can take more. Resolves at once after the client left. */
  write(data: T): Promise<void>;
  /** Ends the document; resolves when the response has finished or the client left. */
  end(): Promise<void>;
  /** Stops writing and drops the connection (a failure after bytes were sent). */
  abort(): void;
  /** True once the client went away before the document was complete. */
  readonly closed: boolean;
}

/** Writes CSV records, each a list of cells. */
export type CsvWriter = CsvDownload<readonly unknown[]>;

/**
 * Sets the download headers and starts a CSV document on `res` with `header` as its first row.
 * Every cell goes through `csvCell` and is quoted, so nothing reaches the file un-neutralized.
 */
export function startCsv(res: Response, fileName: string, header: readonly string[]): CsvWriter {
  const stringifier: Stringifier = stringify(CSV_FORMAT);
  const out = startDownload<unknown[]>(res, fileName, stringifier, () => {
    stringifier.unpipe(res);
    stringifier.destroy();
  });
  stringifier.on('error', () => res.destroy());
  if (!out.closed) stringifier.pipe(res);
  const writer: CsvWriter = {
    write: (cells) => out.write(cells.map(csvCell)),
    end: () => out.end(),
    abort: () => out.abort(),
    get closed() { return out.closed; },
  };
  void writer.write(header);
  return writer;
}

/**
 * Sets the download headers and starts a CSV document on `res` whose rows come already formatted
 * (PostgreSQL's COPY ... WITH (FORMAT csv, FORCE_QUOTE *), neutralized in SQL): the header row is
 * written as startCsv writes it, then the bytes as they are.
 */
export function startCsvText(res: Response, fileName: string, header: readonly string[]): CsvDownload<Buffer | string> {
  const out = startDownload<Buffer | string>(res, fileName, res, () => undefined);
  void out.write(stringifySync([[...header]], CSV_FORMAT));
  return out;
}

/**
 * The download headers, then writes to `sink` (the response, or a stream piped into it), waiting
 * for `drain` when the client reads slowly; `detach` stops `sink` once the client has gone.
 */
function startDownload<T>(res: Response, fileName: string, sink: Writable, detach: () => void): CsvDownload<T> {
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${fileName}"`);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');

  let closed = false;
  const onClose = (): void => {
    if (res.writableFinished) return;
    closed = true;
    detach();
  };
  // The client may have gone while the first rows were being read: then nothing is written at all.
  if (res.destroyed) closed = true;
  else res.once('close', onClose);

  const write = (data: T): Promise<void> => {
    if (closed) return Promise.resolve();
    if (sink.write(data)) return Promise.resolve();
    // Drained, or the client left: either way this piece is done.
    return new Promise((resolve) => {
      const done = (): void => {
        sink.off('drain', done);
        res.off('close', done);
        resolve();
      };
      sink.once('drain', done);
      res.once('close', done);
    });
  };

  return {
    write,
    end: () => new Promise((resolve) => {
      if (closed || res.writableFinished) { resolve(); return; }
      res.once('close', () => resolve());
      res.once('finish', () => resolve());
      sink.end();
    }),
    abort: () => {
      closed = true;
      detach();
      res.destroy();
    },
    get closed() { return closed; },
  };
}
