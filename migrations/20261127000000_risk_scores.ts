import type { Knex } from 'knex';
import { APPEND_FUNCTION_V3 } from './sql/riskScoresV3';
import { APPEND_FUNCTION_V2 } from './sql/domainEventsV2';

/**
 * Risk scores: the append function takes the risk options (p_risk) and scores every new row before
 * it is chained; activity_risk_baseline keeps each user's known devices and countries, learned
 * here from the rows already stored, so an upgrade does not make every device new.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('activity_risk_baseline', (t) => {
    t.text('user_id').notNullable().comment('The user');
    t.text('trait').notNullable().comment('device (browser and operating system) or country');
    t.text('value').notNullable().comment('The device, as a JSON array [browser, operating system], or the country code');
    t.timestamp('first_seen', { useTz: true }).notNullable().comment('When the user was first seen with it');
    t.primary(['user_id', 'trait', 'value'], { constraintName: 'activity_risk_baseline_pkey' });
    t.comment('The devices and countries each user is known by: a row with one not here is new_device or new_country');
  });
  await knex.raw(`insert into activity_risk_baseline (user_id, trait, value, first_seen)
    select user_id, 'device', jsonb_build_array(browser, operating_system)::text, min(start_time)
      from user_activity where user_id is not null and (browser is not null or operating_system is not null)
     group by 1, 3
    union all
    select user_id, 'country', location->>'country', min(start_time)
      from user_activity where user_id is not null and location->>'country' is not null
     group by 1, 3`);
  // A new parameter is a new function: the two-parameter ones go first (create or replace cannot add one).
  await knex.raw('drop function if exists activity_tracking_end_sessions(jsonb, text)');
  await knex.raw('drop function if exists activity_tracking_append(jsonb, boolean)');
  for (const statement of APPEND_FUNCTION_V3) await knex.raw(statement);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function activity_tracking_end_sessions(jsonb, text, jsonb)');
  await knex.raw('drop function activity_tracking_append(jsonb, boolean, jsonb)');
  for (const statement of APPEND_FUNCTION_V2) await knex.raw(statement);
  await knex.schema.dropTable('activity_risk_baseline');
}
