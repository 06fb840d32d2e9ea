import type { Knex } from 'knex';
import { HASH_FUNCTIONS_V2, APPEND_FUNCTION_V2 } from './sql/domainEventsV2';
import { APPEND_FUNCTION_V1 } from './sql/integrityV1';

/**
 * Domain audit events, tenants and risk: the columns a domain event carries beyond a request's
 * (actor, category, severity, entity name, tenant, owner, status, reason, before/after/diff,
 * personal-data flag) and the risk columns, all covered by version 2 of the chain's encoding; a
 * tenant on sessions; and the append function that writes them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_activity', (t) => {
    t.text('actor_type').nullable().comment('Who acted, for domain events: user, admin, agent, system or service');
    t.text('actor_role').nullable().comment('The actor\'s role when it acted');
    t.text('actor_name').nullable().comment('The actor\'s display name when it acted');
    t.text('category').nullable().comment('The app\'s grouping of the action, e.g. approval, billing, conversation');
    t.text('severity').nullable().comment('info, low, medium, high or critical');
    t.text('entity_name').nullable().comment('Display name of the entity acted on');
    t.text('tenant_id').nullable().comment('The tenant (organisation) the row belongs to');
    t.text('owner_id').nullable().comment('The tenant or party that owns the entity acted on');
    t.text('status').nullable().comment('Outcome of a domain event: success, failure, partial or pending');
    t.text('reason').nullable().comment('Why the actor did it, as given');
    t.jsonb('changes').nullable().comment('Sanitized { before, after, diff: [{ path, before, after }] } of a domain event');
    t.boolean('personal_data').nullable().comment('The event reads or changes personal data');
    t.double('risk_score').nullable().comment('Risk from 0 to 1');
    t.jsonb('risk_factors').nullable().comment('Names of the factors that produced risk_score');
    t.boolean('anomaly').nullable().comment('risk_score reached the anomaly threshold');
    t.index(['tenant_id', 'start_time'], 'user_activity_tenant_time_idx');
    t.index(['owner_id', 'start_time'], 'user_activity_owner_time_idx');
  });
  await knex.schema.alterTable('activity_sessions', (t) => {
    t.text('tenant_id').nullable().comment('The tenant of the session\'s latest activity that named one');
    t.index(['tenant_id'], 'activity_sessions_tenant_idx');
  });
  for (const statement of HASH_FUNCTIONS_V2) await knex.raw(statement);
  for (const statement of APPEND_FUNCTION_V2) await knex.raw(statement);
}

export async function down(knex: Knex): Promise<void> {
  // Back to the version-1 append function and hash functions of migration 20261125000000_integrity.
  for (const statement of APPEND_FUNCTION_V1) await knex.raw(statement);
  await knex.raw('drop function if exists activity_tracking_row_hash(bigint, text, uuid, text, text, text, text, text, text, jsonb, text, text, text, text, jsonb, jsonb, double precision, timestamptz, timestamptz, text, text, text, integer, boolean, integer, integer, text, text, text, text, text, text, text, text, text, text, jsonb, boolean, double precision, jsonb, boolean)');
  await knex.raw('drop function if exists activity_tracking_content_hash(bigint, uuid, text, text, text, text, text, text, jsonb, text, text, text, text, jsonb, jsonb, double precision, timestamptz, timestamptz, text, text, text, integer, boolean, integer, integer, text, text, text, text, text, text, text, text, text, text, jsonb, boolean, double precision, jsonb, boolean)');
  await knex.schema.alterTable('activity_sessions', (t) => {
    t.dropIndex(['tenant_id'], 'activity_sessions_tenant_idx');
    t.dropColumn('tenant_id');
  });
  await knex.schema.alterTable('user_activity', (t) => {
    t.dropIndex(['tenant_id', 'start_time'], 'user_activity_tenant_time_idx');
    t.dropIndex(['owner_id', 'start_time'], 'user_activity_owner_time_idx');
    for (const column of ['actor_type', 'actor_role', 'actor_name', 'category', 'severity', 'entity_name', 'tenant_id', 'owner_id', 'status', 'reason', 'changes', 'personal_data', 'risk_score', 'risk_factors', 'anomaly']) t.dropColumn(column);
  });
}
