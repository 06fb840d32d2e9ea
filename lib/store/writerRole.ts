import type { Knex } from 'knex';
import { ActivityTrackingError } from '../errors';
import { MIGRATIONS_TABLE } from '../../migrations';

/**
 * What the app's writer role may do, and nothing more. It reads every table (reports, verify,
 * checkpoints, the schema check), adds rows only where no function does it for it (alerts,
 * acknowledgements, batch signatures, which a key it does not hold cannot forge) and appends to
 * the trail only through the functions, which run as their owner. It owns nothing, so it can
 * neither replace a function nor disable a trigger.
 */
export const WRITER_SELECT_TABLES: readonly string[] = [
  'user_activity', 'activity_sessions', 'activity_summaries', 'activity_retention', 'activity_risk_baseline',
  'activity_alerts', 'activity_alert_acknowledgements', 'activity_chain_signatures', MIGRATIONS_TABLE,
];
/** activity_retention: the retention job's log of its runs (it authorizes no delete; the chained record does). */
export const WRITER_INSERT_TABLES: readonly string[] = ['activity_alerts', 'activity_alert_acknowledgements', 'activity_chain_signatures', 'activity_retention'];
/**
 * The daily rollups: derived data the rollups job builds and replaces and retention forgets, not
 * the trail (verify never reads them; the job rebuilds a day whose rows are gone).
 */
export const WRITER_ROLLUP_TABLES: readonly string[] = ['activity_rollup_days', 'activity_daily_rollups', 'activity_rollup_hours', 'activity_hourly_rollups'];
/** The sequences of the tables above that number their rows. */
export const WRITER_SEQUENCES: readonly string[] = ['activity_retention_id_seq'];
export const WRITER_FUNCTIONS: readonly string[] = [
  'activity_tracking_append(jsonb, boolean, jsonb)',
  'activity_tracking_end_sessions(jsonb, text, jsonb)',
  'activity_tracking_append_head(jsonb, boolean, jsonb)',
  'activity_tracking_remove_prefix(bigint, bigint)',
  'activity_tracking_append_rows(jsonb, boolean, jsonb)',
  'activity_tracking_create_partition(timestamptz, timestamptz)',
  'activity_tracking_drop_partition(text)',
];

/** The GRANT statements for `role` in the current schema, as `activity-tracking grant` runs them (role quoted). */
export function writerGrantStatements(role: string, schema: string): string[] {
  const who = quoteIdent(role);
  const where = quoteIdent(schema);
  return [
    `grant usage on schema ${where} to ${who}`,
    `grant select on ${WRITER_SELECT_TABLES.map((t) => `${where}.${t}`).join(', ')} to ${who}`,
    `grant insert on ${WRITER_INSERT_TABLES.map((t) => `${where}.${t}`).join(', ')} to ${who}`,
    `grant select, insert, update, delete on ${WRITER_ROLLUP_TABLES.map((t) => `${where}.${t}`).join(', ')} to ${who}`,
    `grant usage on sequence ${WRITER_SEQUENCES.map((q) => `${where}.${q}`).join(', ')} to ${who}`,
    `grant execute on function ${WRITER_FUNCTIONS.map((f) => `${where}.${f}`).join(', ')} to ${who}`,
  ];
}

/**
 * Gives an existing role what the package needs to run as the app's writer, in the schema the
 * tables are in (the connection's current schema). Run it as the migration owner after every
 * `activity-tracking migrate`. Refuses a role that owns the tables or is a superuser: such a role
 * could change the trail, so it is no writer role.
 */
export async function grantWriterRole(knex: Knex, role: string): Promise<string[]> {
  if (typeof role !== 'string' || !/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(role)) {
    throw new ActivityTrackingError('ERR_AT_INVALID_OPTION', `Invalid role name ${JSON.stringify(String(role)).slice(0, 80)}. Fix: give the name of an existing role: letters, digits, _, $ or -, at most 63 characters`);
  }
  const found = (await knex.raw(`select r.rolsuper, r.rolbypassrls, current_schema() as schema,
      exists (select 1 from pg_class c where c.relname = 'user_activity' and c.relnamespace = current_schema()::regnamespace and pg_has_role(r.oid, c.relowner, 'USAGE')) as owns
    from pg_roles r where r.rolname = ?`, [role])) as { rows: Array<{ rolsuper: boolean; rolbypassrls: boolean; schema: string | null; owns: boolean }> };
  const row = found.rows[0];
  if (!row) throw new ActivityTrackingError('ERR_AT_INVALID_OPTION', `There is no role "${role}". Fix: create it first, e.g. CREATE ROLE "${role}" LOGIN PASSWORD '...' (no SUPERUSER, no CREATEROLE)`);
  if (!row.schema) throw new ActivityTrackingError('ERR_AT_SCHEMA_MISSING', 'The connection has no current schema. Fix: set search_path to the schema the activity tables are in');
  if (row.rolsuper || row.owns) {
    throw new ActivityTrackingError('ERR_AT_INVALID_OPTION', `Role "${role}" is ${row.rolsuper ? 'a superuser' : 'the owner of the activity tables (or a member of it)'}, so it could change the trail. Fix: create a separate role for the app, without SUPERUSER and owning nothing, and grant that one`);
  }
  const statements = writerGrantStatements(role, row.schema);
  for (const statement of statements) await knex.raw(statement);
  return statements;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
