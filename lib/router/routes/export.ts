import type { ReportContext, ReportHandler } from '../context';
import { ACTIVITY_FILTER_PARAMS, activityFilters, allowOnly, describeFilters, oneOf } from '../params';
import { csvFileName, startCsv, type CsvWriter } from '../csv';
import { ACTIVITY_COLUMNS, toActivityJson, type ActivityField } from '../../store/reports/activityRows';
import { exportPages } from '../../store/reports/exportRows';
import { readInTenant } from '../../store/rowLevelSecurity';
import { messageOf } from '../../util/messageOf';

export const EXPORT_PARAMS = [...ACTIVITY_FILTER_PARAMS, 'order'] as const;

const FIELDS = Object.keys(ACTIVITY_COLUMNS) as ActivityField[];

/**
 * `GET /export`: every row the `/activities` filters select, as a CSV download, sorted by start
 * time (then id). Streamed page by page, so memory stays flat however many rows there are, and
 * the database is asked for no more pages once the client has gone.
 */
export function exportRoute(ctx: ReportContext): ReportHandler {
  return async (req, res, _principal, describe, scope) => {
    const query = req.query as Record<string, unknown>;
    allowOnly(query, EXPORT_PARAMS);
    const filters = activityFilters(query);
    const order = oneOf(query, 'order', ['asc', 'desc'] as const, 'desc');
    describe({ type: 'audit_export', filters: { ...describeFilters(filters), order } });

    // One short transaction per page under row-level security, not one held open while a slow client downloads.
    const pages = exportPages((read) => readInTenant(ctx.knex, scope, ctx.config.rowLevelSecurity, read), filters, scope, order);
    // Fetched before any header goes out, so a failing query still gets a proper JSON error.
    const first = await pages.next();

    const csv = startCsv(res, csvFileName('activity-export'), FIELDS);
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
    await csv.write(FIELDS.map((field) => json[field]));
  }
}
