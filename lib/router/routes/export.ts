import type { ReportContext, ReportHandler } from '../context';
import { ACTIVITY_FILTER_PARAMS, activityFilters, allowOnly, describeFilters, oneOf } from '../params';
import { csvFileName, startCsv, type CsvWriter } from '../csv';
import { toActivityJson } from '../../store/reports/activityRows';
import { EXPORT_HEADER } from '../../store/columns';
import { messageOf } from '../../util/messageOf';

export const EXPORT_PARAMS = [...ACTIVITY_FILTER_PARAMS, 'order'] as const;


/**
 * `GET /export`: every row the `/activities` filters select, as a CSV download, sorted by start
 * time (then id). Streamed page by page, so memory stays flat however many rows there are, and
 * the database is asked for no more pages once the client has gone.
 */
export function exportRoute(ctx: ReportContext): ReportHandler {
  return async (req, res, { describe, reader }) => {
    const query = req.query as Record<string, unknown>;
    allowOnly(query, EXPORT_PARAMS);
    const filters = activityFilters(query);
    const order = oneOf(query, 'order', ['asc', 'desc'] as const, 'desc');
    describe({ type: 'audit_export', filters: { ...describeFilters(filters), order } });

    // One short read per page (one transaction each under row-level security), not one held open while a slow client downloads.
    const pages = reader.exportRows(filters, order);
    // Fetched before any header goes out, so a failing query still gets a proper JSON error.
    const first = await pages.next();

    const csv = startCsv(res, csvFileName('activity-export'), EXPORT_HEADER);
    try {
      if (!first.done) await writeRows(csv, first.value);
      while (!csv.closed) {
        const next = await pages.next();
        if (next.done) break;
        await writeRows(csv, next.value);
      }
      if (csv.closed) {
        await pages.return(undefined);
        return;
      }
      await csv.end();
    } catch (error) {
      // Part of the file is out: the only honest signal left is a connection that ends abruptly.
      ctx.config.logger.error('Activity export failed while streaming; the connection was closed', { error: messageOf(error) });
      csv.abort();
    }
  };
}

async function writeRows(csv: CsvWriter, rows: Array<Record<string, unknown>>): Promise<void> {
  for (const row of rows) {
    if (csv.closed) return;
    const json = toActivityJson(row);
    await csv.write(EXPORT_HEADER.map((field) => json[field]));
  }
}
