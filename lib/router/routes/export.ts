import type { Response } from 'express';
import type { ReportContext, ReportHandler } from '../context';
import { ACTIVITY_FILTER_PARAMS, activityFilters, allowOnly, describeFilters, oneOf } from '../params';
import { csvFileName, startCsv, startCsvText, type CsvDownload, type CsvWriter } from '../csv';
import { toActivityJson } from '../../store/reports/activityRows';
import { EXPORT_HEADER } from '../../store/columns';
import { isPgLite } from '../../store/database';
import type { ReportReader } from '../../store/reports/reader';
import type { ActivityFilters, SortOrder } from '../../store/reports/filters';
import type { Logger } from '../../types';
import { messageOf } from '../../util/messageOf';

export const EXPORT_PARAMS = [...ACTIVITY_FILTER_PARAMS, 'order'] as const;

/**
 * `GET /export`: every row the `/activities` filters select, as a CSV download, sorted by start
 * time (then id). Memory stays flat however many rows there are, and the database stops once the
 * client has gone. On PostgreSQL the server writes the CSV itself (one COPY, cells neutralized in
 * SQL); on the embedded database, which cannot stream a COPY, Node formats pages of rows.
 */
export function exportRoute(ctx: ReportContext): ReportHandler {
  return async (req, res, { describe, reader }) => {
    const query = req.query as Record<string, unknown>;
    allowOnly(query, EXPORT_PARAMS);
    const filters = activityFilters(query);
    const order = oneOf(query, 'order', ['asc', 'desc'] as const, 'desc');
    describe({ type: 'audit_export', filters: { ...describeFilters(filters), order } });
    const fileName = csvFileName('activity-export');
    if (isPgLite(ctx.db)) await sendPages(res, reader, filters, order, fileName, ctx.config.logger);
    else await sendCopy(res, reader, filters, order, fileName, ctx.config.logger);
  };
}

/** PostgreSQL: the COPY's CSV text as it comes, one connection held (in the tenant's transaction) for the whole download. */
async function sendCopy(res: Response, reader: ReportReader, filters: ActivityFilters, order: SortOrder, fileName: string, logger: Logger): Promise<void> {
  await reader.exportCsv(filters, order, async (chunks) => {
    const iterator = chunks[Symbol.asyncIterator]();
    // The first chunk (or the end) is read before any header goes out, so a failing query still gets a proper JSON error.
    const first = await iterator.next();
    const csv = startCsvText(res, fileName, EXPORT_HEADER);
    await streamOut(csv, logger, async () => {
      if (!first.done) await csv.write(first.value);
      while (!csv.closed) {
        const next = await iterator.next();
        if (next.done) return;
        await csv.write(next.value);
      }
    });
  });
}

/** Embedded: one short read per page (one transaction each under row-level security), not one held open while a slow client downloads. */
async function sendPages(res: Response, reader: ReportReader, filters: ActivityFilters, order: SortOrder, fileName: string, logger: Logger): Promise<void> {
  const pages = reader.exportRows(filters, order);
  // Fetched before any header goes out, so a failing query still gets a proper JSON error.
  const first = await pages.next();
  const csv = startCsv(res, fileName, EXPORT_HEADER);
  await streamOut(csv, logger, async () => {
    if (!first.done) await writeRows(csv, first.value);
    while (!csv.closed) {
      const next = await pages.next();
      if (next.done) return;
      await writeRows(csv, next.value);
    }
  });
  // The client left mid-file: no more pages are read.
  if (csv.closed) await pages.return(undefined);
}

/** Runs `body`, then ends the document; a failure once bytes are out can only end the connection abruptly. */
async function streamOut<T>(csv: CsvDownload<T>, logger: Logger, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    if (!csv.closed) await csv.end();
  } catch (error) {
    // Part of the file is out: the only honest signal left is a connection that ends abruptly.
    logger.error('Activity export failed while streaming; the connection was closed', { error: messageOf(error) });
    csv.abort();
  }
}

async function writeRows(csv: CsvWriter, rows: Array<Record<string, unknown>>): Promise<void> {
  for (const row of rows) {
    if (csv.closed) return;
    const json = toActivityJson(row);
    await csv.write(EXPORT_HEADER.map((field) => json[field]));
  }
}
