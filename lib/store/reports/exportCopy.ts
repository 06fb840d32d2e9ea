import { escapeLiteral, type Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { isPgLite, type Database } from '../database';
import { ActivityTrackingError } from '../../errors';
import { ACTIVITY_ROW, EXPORT_HEADER, REPORT_COLUMNS, type ActivityField, type SqlType } from '../columns';
import { applyActivityFilters } from './activityRows';
import { mayNeedNeutralizingSql, neutralizeFormulaSql } from './formulaSql';
import type { ActivityFilters, SortOrder } from './filters';
import type { TenantScope } from './tenantScope';

/** Each export field's SQL type; createdAt is the one the database fills itself. */
const FIELD_TYPES: Readonly<Record<ActivityField, SqlType>> = {
  ...(Object.fromEntries(Object.entries(ACTIVITY_ROW).map(([field, spec]) => [field, spec.type])) as Record<keyof typeof ACTIVITY_ROW, SqlType>),
  createdAt: 'timestamptz',
};

/** Date.toISOString()'s shape; to_char's MS truncates microseconds as the pg driver's Date does. */
const ISO_UTC = escapeLiteral('YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

/**
 * One export field in the three steps of the query (see exportCopySql): `read`, its text read from
 * the row; `final`, the cell written, from the read columns and the row's `risky` flag. `text` is
 * the read column a spreadsheet could take for a formula (text, JSON), which `risky` looks at.
 */
interface CellSql {
  read: string[];
  final: string;
  text?: string;
}

const quoted = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * A field as csvCell() writes the value Node reads (lib/router/csv.ts): text and JSON neutralized,
 * an empty string as null (COPY quotes '' but writes null bare, as startCsv writes ''), times in
 * ISO UTC, numbers and booleans as PostgreSQL prints them. A jsonb scalar is written as the pg
 * driver would hand it over: a string unquoted, a number or boolean as is, JSON null as nothing.
 */
function cellSql(field: ActivityField, type: SqlType): CellSql {
  const ref = `"user_activity".${quoted(REPORT_COLUMNS[field])}`;
  const name = quoted(field);
  const neutralized = (text: string): string => `nullif(case when risky then ${neutralizeFormulaSql(text)} else ${text} end, '')`;
  switch (type) {
    case 'text':
      return { read: [`${ref} as ${name}`], final: `${neutralized(name)} as ${name}`, text: name };
    case 'jsonb': {
      const scalar = quoted(`${field}#scalar`);
      return {
        read: [
          `case jsonb_typeof(${ref}) when 'string' then ${ref} #>> '{}' when 'object' then ${ref}::text when 'array' then ${ref}::text end as ${name}`,
          `case when jsonb_typeof(${ref}) in ('number', 'boolean') then ${ref}::text end as ${scalar}`,
        ],
        final: `coalesce(${scalar}, ${neutralized(name)}) as ${name}`,
        text: name,
      };
    }
    case 'timestamptz':
      return { read: [`to_char(${ref} at time zone 'UTC', ${ISO_UTC}) as ${name}`], final: name };
    // A UUID never holds a formula trigger after a separator; numbers and booleans are not neutralized (a negative number stays a number).
    case 'uuid':
    case 'integer':
    case 'double precision':
    case 'boolean':
      return { read: [`${ref}::text as ${name}`], final: name };
  }
}

const CELLS = EXPORT_HEADER.map((field) => cellSql(field, FIELD_TYPES[field]));

/**
 * `COPY (SELECT ...) TO STDOUT` for the export's filters. COPY takes no bind parameters, so the
 * query is built by knex with bindings as every report query is, then each `$n` is replaced by
 * the value as a literal escaped by pg's escapeLiteral (quotes doubled, backslashes doubled under
 * E''), which is data whatever the server's standard_conforming_strings. The SQL around the
 * bindings is the package's own and holds no `$` and no `?`, so every `$n` is a placeholder.
 */
export function exportCopySql(db: Database, scope: TenantScope, filters: ActivityFilters, order: SortOrder): string {
  const query = applyActivityFilters(db('user_activity').select(db.raw(CELLS.flatMap((c) => c.read).join(', '))), filters, scope)
    .orderBy([{ column: 'user_activity.start_time', order }, { column: 'user_activity.id', order }]);
  const { sql, bindings } = query.toSQL().toNative();
  const rows = sql.replace(/\$(\d+)/g, (_, n: string) => literal(bindings[Number(n) - 1]));
  // Each step is fenced with `offset 0`, so PostgreSQL computes a read column once, not once per use:
  // rows (read and sorted), then whether each row may need neutralizing (one match over all its
  // text), then the cells, with the exact per-cell test only in rows that may need it.
  const flagged = `select r.*, ${mayNeedNeutralizingSql(CELLS.flatMap((c) => (c.text ? [`r.${c.text}`] : [])))} as risky from (${rows} offset 0) r offset 0`;
  // No ORDER BY out here: it would sort again; a subquery scan hands rows on in the order it reads them.
  const cells = `select ${CELLS.map((c) => c.final).join(', ')} from (${flagged}) f`;
  return `copy (${cells}) to stdout with (format csv, force_quote *)`;
}

function literal(value: unknown): string {
  if (typeof value === 'string') return escapeLiteral(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (value instanceof Date && !Number.isNaN(value.getTime())) return escapeLiteral(value.toISOString());
  throw new ActivityTrackingError('ERR_AT_DATABASE', `The export cannot write ${typeof value} ${String(value)} into its COPY statement. Fix: validate the filter into a string, number, boolean or date before it reaches exportCopySql`);
}

/** A pg connection as knex's pool hands it out, with the ids knex tags its query events with. */
type PgConnection = Client & { processID: number; __knexUid?: string; __knexTxId?: string };

/**
 * Runs `copySql` on a connection of `conn` (the pool, or the transaction that holds the tenant
 * setting) and hands its CSV text to `consume`, chunk by chunk, as PostgreSQL sends it: the
 * connection's socket is read only as fast as `consume` pulls, so a slow client slows PostgreSQL
 * rather than filling memory. When `consume` returns before the last chunk (the client went away),
 * the COPY is cancelled through `db` and what was already in flight is read and dropped, so the
 * connection goes back to the pool ready for its next query.
 */
export async function runCopy(db: Database, conn: Database, copySql: string, consume: (chunks: AsyncIterable<Buffer>) => Promise<void>): Promise<void> {
  if (isPgLite(db)) {
    throw new ActivityTrackingError('ERR_AT_DATABASE', 'COPY ... TO STDOUT streams only from a PostgreSQL server. Fix: on the embedded database read the export with exportRows');
  }
  const client = (await conn.client.acquireConnection()) as PgConnection;
  // In a transaction (the tenant's) the setting ends with it; on a pooled connection it is reset below.
  const local = conn.isTransaction === true;
  try {
    // JIT would compile the COPY's few hundred cell expressions in the leader and in each parallel
    // worker, about 2 s of CPU per export of a million rows (EXPLAIN ANALYZE), and win less than that back.
    await client.query(`select set_config('jit', 'off', ${String(local)})`);
    // As knex announces its own queries, so whoever watches the 'query' event (logs, the bench, tests) sees the COPY too.
    conn.client.emit('query', { __knexUid: client.__knexUid, __knexTxId: client.__knexTxId, sql: copySql, bindings: [], method: 'copy' });
    const stream = client.query(copyTo(copySql));
    let settled = false;
    const finished = new Promise<void>((resolve) => {
      const settle = (): void => {
        settled = true;
        resolve();
      };
      stream.once('end', settle);
      // The error also reaches `consume` through the iterator; this listener only marks the end.
      stream.once('error', settle);
    });
    // Not destroyed when the consumer stops: the connection must still be read to the COPY's end.
    const chunks = stream.iterator({ destroyOnReturn: false });
    try {
      await consume(chunks);
    } finally {
      if (!settled) {
        await db.raw('select pg_cancel_backend(?)', [client.processID]).catch(() => undefined);
        // Through the same iterator: its 'readable' listener would keep a plain resume() from flowing.
        try {
          for await (const dropped of chunks) void dropped;
        } catch {
          // The cancel's own error (57014), or whatever else ended the COPY: nobody is reading any more.
        }
        await finished;
      }
    }
  } finally {
    // A failed reset leaves only JIT off on that connection, which costs nothing but speed.
    if (!local) await client.query('reset jit').catch(() => undefined);
    await conn.client.releaseConnection(client);
  }
}
