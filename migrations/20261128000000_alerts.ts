import type { Knex } from 'knex';

/**
 * Alerts: what the alert rules found (one row per rule, key and window: the unique key is what
 * makes a rule fire once however often, and in however many processes, it is evaluated) and who
 * acknowledged them. Both tables are append-only: acknowledging adds a row, it changes none.
 * New tables only; the append function and the chain are untouched.
 */

// Its own function rather than activity_tracking_append_only(), whose message points at the
// retention job: alerts never leave, and are acknowledged by adding a row.
const APPEND_ONLY_FUNCTION = `
create or replace function activity_tracking_alerts_append_only() returns trigger language plpgsql as $fn$
begin
  raise exception 'activity_tracking: % is append-only; % is refused', tg_table_name, tg_op
    using errcode = 'insufficient_privilege', hint = 'Acknowledge an alert with POST /alerts/:id/acknowledge, which adds a row to activity_alert_acknowledgements';
end
$fn$`;

const TABLES = ['activity_alerts', 'activity_alert_acknowledgements'];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('activity_alerts', (t) => {
    t.comment('One row per alert: an alert rule that fired for a key within a window; append-only.');
    t.uuid('id').primary().comment('UUID v7 generated when the alert was created');
    t.text('rule').notNullable().comment('The rule that fired, e.g. failed_logins_per_ip');
    t.text('alert_key').notNullable().comment('What the rule counted by: an IP, an account, a user, global, a tenant, ip:<ip> or account:<id>');
    t.timestamp('window_start', { useTz: true, precision: 3 }).notNullable().comment('Start of the window the alert covers: its first counted row (rules keyed by an IP, account or user), or the fixed window aligned on the Unix epoch (error_rate, critical_events, impossible_travel)');
    t.timestamp('window_end', { useTz: true, precision: 3 }).notNullable().comment('End of the window (exclusive)');
    t.text('severity').notNullable().comment('The rule\'s severity: info, low, medium, high or critical');
    t.text('tenant_id').nullable().comment('The tenant every counted row shares; null when they name none or several');
    t.integer('count').notNullable().comment('Rows counted when the alert was created (error_rate: 5xx responses; impossible_travel: impossible moves)');
    t.timestamp('first_seen', { useTz: true, precision: 3 }).notNullable().comment('start_time of the earliest counted row');
    t.timestamp('last_seen', { useTz: true, precision: 3 }).notNullable().comment('start_time of the latest counted row when the alert was created');
    t.text('summary').notNullable().comment('One sentence saying what happened');
    t.jsonb('details').notNullable().comment('The rule\'s threshold and window and what it counted (accounts, countries, rates)');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now()).comment('When the alert was created');
    t.unique(['rule', 'alert_key', 'window_start'], { indexName: 'activity_alerts_rule_key_window_key' });
    t.index(['window_start'], 'activity_alerts_window_idx');
    t.index(['tenant_id', 'window_start'], 'activity_alerts_tenant_window_idx');
  });
  await knex.schema.createTable('activity_alert_acknowledgements', (t) => {
    t.comment('One row per acknowledgement of an alert; an alert with at least one is acknowledged; append-only.');
    t.uuid('id').primary().comment('UUID v7 generated when the alert was acknowledged');
    t.uuid('alert_id').notNullable().references('id').inTable('activity_alerts').comment('The alert acknowledged');
    t.text('acknowledged_by').notNullable().comment('User id of the admin who acknowledged it');
    t.text('note').nullable().comment('What the admin said about it, as given (at most 1000 characters)');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now()).comment('When it was acknowledged');
    t.index(['alert_id'], 'activity_alert_acknowledgements_alert_idx');
  });
  await knex.raw(APPEND_ONLY_FUNCTION);
  for (const table of TABLES) {
    await knex.raw(`create trigger ${table}_append_only before update or delete on ${table} for each row execute function activity_tracking_alerts_append_only()`);
    await knex.raw(`create trigger ${table}_no_truncate before truncate on ${table} for each statement execute function activity_tracking_alerts_append_only()`);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('activity_alert_acknowledgements');
  await knex.schema.dropTable('activity_alerts');
  await knex.raw('drop function if exists activity_tracking_alerts_append_only()');
}
