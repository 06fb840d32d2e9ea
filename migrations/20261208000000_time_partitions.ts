import type { Knex } from 'knex';
// Frozen: later changes come as new migrations, so this one installs the same SQL forever.
import { APPEND_ONLY_FUNCTION_V3, CREATE_PARTITION_FUNCTION_V1, DROP_PARTITION_FUNCTION_V1 } from './sql/partitionsV1';
import { APPEND_ONLY_FUNCTION_V2 } from './sql/retentionGuard';

/**
 * user_activity becomes a table partitioned by created_at, which the append functions leave to its
 * default, now clock_timestamp(): it is read as each row is inserted, under the chain lock, so chain
 * positions and partitions keep one order. The rows already stored stay where they are: the old
 * table is attached, as it is, as the first partition (user_activity_initial, for created_at up to
 * its newest row), which costs one scan of it under an ACCESS EXCLUSIVE lock and no copy; its
 * indexes become the partitioned indexes' first parts. An empty old table is dropped instead. The
 * dated partitions are created by lib/store/partitions (at migrate and by the job runner) through
 * activity_tracking_create_partition; a default partition takes any row no dated partition covers,
 * so a write never fails for want of one.
 */

/** The indexes every partition carries through the parent, as the earlier migrations created them on the table. */
const PARENT_INDEXES: ReadonlyArray<[name: string, definition: string]> = [
  ['user_activity_start_time_idx', '(start_time)'],
  ['user_activity_user_time_idx', '(user_id, start_time)'],
  ['user_activity_session_time_idx', '(session_id, start_time)'],
  ['user_activity_entity_time_idx', '(entity_type, entity_id, start_time)'],
  ['user_activity_ip_time_idx', '(ip_address, start_time)'],
  ['user_activity_type_time_idx', '(activity_type, start_time)'],
  ['user_activity_duration_idx', '(duration)'],
  ['user_activity_tenant_time_idx', '(tenant_id, start_time)'],
  ['user_activity_owner_time_idx', '(owner_id, start_time)'],
  ['user_activity_created_at_idx', '(created_at)'],
  ['user_activity_retention_records', `(((details->>'toPosition')::numeric)) where action = 'retention.removed' and activity_type = 'system_action' and entity_type = 'activity_trail' and jsonb_typeof(details->'toPosition') = 'number'`],
];

/**
 * New here, built on the first partition as it is attached: the failures, a few percent of the rows,
 * for `/activities?success=false`, which otherwise walks the start_time index past every success
 * (74 ms on ten million rows with the count capped at 10,000).
 */
const NEW_INDEXES: ReadonlyArray<[name: string, definition: string]> = [
  ['user_activity_failed_time_idx', '(start_time) where not success'],
];

const FUNCTIONS = ['activity_tracking_create_partition(timestamptz, timestamptz)', 'activity_tracking_drop_partition(text)'];

export async function up(knex: Knex): Promise<void> {
  await knex.raw('lock table user_activity in access exclusive mode');
  // The bound is the newest row's created_at plus the column's precision: every stored row is below it. DDL takes no parameters, hence the quoted literal.
  const newest = (await knex.raw(`select quote_literal((max(created_at) + interval '1 millisecond')::text) as bound from user_activity`)) as { rows: Array<{ bound: string | null }> };
  const bound = newest.rows[0]?.bound ?? null;

  await knex.raw('alter table user_activity rename to user_activity_initial');
  for (const [name] of PARENT_INDEXES) await knex.raw(`alter index ${name} rename to ${name.replace('user_activity_', 'user_activity_initial_')}`);
  await knex.raw('alter table user_activity_initial rename constraint user_activity_pkey to user_activity_initial_id_key');
  await knex.raw('alter table user_activity_initial rename constraint user_activity_chain_position_key to user_activity_initial_chain_position_key');
  // The parent's row trigger is cloned onto every partition, this one included.
  await knex.raw('drop trigger user_activity_append_only on user_activity_initial');
  await knex.raw('drop trigger user_activity_no_truncate on user_activity_initial');

  await knex.raw('create table user_activity (like user_activity_initial including defaults including constraints including comments including storage) partition by range (created_at)');
  await knex.raw(`comment on table user_activity is 'One row per recorded request or domain event; rows are only ever added. Partitioned by created_at (user_activity_p<first day>; user_activity_default holds rows no dated partition covers)'`);
  await knex.raw(`comment on column user_activity.created_at is 'When the row was stored: the database clock as the row was inserted, under the chain lock, so it grows with chain_position; the partition key'`);
  await knex.raw('alter table user_activity alter column created_at set default clock_timestamp()');
  for (const [name, definition] of [...PARENT_INDEXES, ...NEW_INDEXES]) await knex.raw(`create index ${name} on user_activity ${definition}`);

  await knex.raw(APPEND_ONLY_FUNCTION_V3);
  await knex.raw(`create trigger user_activity_append_only before update or delete on user_activity for each row execute function activity_tracking_append_only('user_activity')`);
  await knex.raw(`create trigger user_activity_no_truncate before truncate on user_activity for each statement execute function activity_tracking_append_only('user_activity')`);

  // Whoever could read the table reads the parent; a partition is read through it, under its policies.
  const grants = (await knex.raw(`select grantee, privilege_type from information_schema.role_table_grants
      where table_schema = current_schema() and table_name = 'user_activity_initial'
        and grantee <> (select pg_get_userbyid(relowner) from pg_class where oid = 'user_activity_initial'::regclass)`)) as { rows: Array<{ grantee: string; privilege_type: string }> };
  for (const { grantee, privilege_type: privilege } of grants.rows) {
    const who = grantee === 'PUBLIC' ? 'public' : `"${grantee.replace(/"/g, '""')}"`;
    await knex.raw(`grant ${privilege} on user_activity to ${who}`);
    await knex.raw(`revoke ${privilege} on user_activity_initial from ${who}`);
  }
  const secured = (await knex.raw(`select relrowsecurity as on from pg_class where oid = 'user_activity_initial'::regclass`)) as { rows: Array<{ on: boolean }> };
  if (secured.rows[0]?.on) {
    await knex.raw('alter table user_activity enable row level security');
    const policies = (await knex.raw(`select policyname, qual, with_check from pg_policies where schemaname = current_schema() and tablename = 'user_activity_initial'`)) as { rows: Array<{ policyname: string; qual: string; with_check: string | null }> };
    for (const p of policies.rows) await knex.raw(`create policy "${p.policyname}" on user_activity using (${p.qual}) with check (${p.with_check ?? p.qual})`);
  }

  await knex.raw('create table user_activity_default partition of user_activity default');
  await knex.raw('create unique index user_activity_default_id_key on user_activity_default (id)');
  await knex.raw('create unique index user_activity_default_chain_position_key on user_activity_default (chain_position)');
  await knex.raw(`create trigger user_activity_default_no_truncate before truncate on user_activity_default for each statement execute function activity_tracking_append_only('user_activity')`);

  if (bound !== null) {
    await knex.raw(`alter table user_activity attach partition user_activity_initial for values from (minvalue) to (${bound})`);
    await knex.raw(`create trigger user_activity_initial_no_truncate before truncate on user_activity_initial for each statement execute function activity_tracking_append_only('user_activity')`);
  } else {
    await knex.raw('drop table user_activity_initial');
  }

  await knex.raw(CREATE_PARTITION_FUNCTION_V1);
  await knex.raw(DROP_PARTITION_FUNCTION_V1);
  const found = (await knex.raw('select quote_ident(current_schema()) as schema')) as { rows: Array<{ schema: string }> };
  const schema = found.rows[0]?.schema;
  if (!schema) throw new Error('activity_tracking: no current schema to pin the functions\' search path to; set search_path before migrating');
  for (const fn of FUNCTIONS) {
    await knex.raw(`alter function ${fn} security definer set search_path = ${schema}, pg_temp`);
    await knex.raw(`revoke execute on function ${fn} from public`);
  }
}

/**
 * Back to one table: the rows of every partition are copied into a plain table (the triggers are
 * the new table's own, created after the copy), which takes the indexes and constraints of before.
 */
export async function down(knex: Knex): Promise<void> {
  for (const fn of FUNCTIONS) await knex.raw(`drop function if exists ${fn}`);
  await knex.raw('lock table user_activity in access exclusive mode');
  await knex.raw('alter table user_activity rename to user_activity_partitioned');
  for (const [name] of PARENT_INDEXES) await knex.raw(`alter index if exists ${name} rename to ${name}_partitioned`);
  await knex.raw('create table user_activity (like user_activity_partitioned including defaults including constraints including comments including storage)');
  await knex.raw('alter table user_activity alter column created_at set default now()');
  await knex.raw(`comment on table user_activity is 'One row per recorded request or domain event; rows are only ever added.'`);
  await knex.raw('insert into user_activity select * from user_activity_partitioned order by chain_position');
  await knex.raw('set local session_replication_role = replica');
  await knex.raw('drop table user_activity_partitioned');
  await knex.raw('set local session_replication_role = origin');
  await knex.raw('alter table user_activity add constraint user_activity_pkey primary key (id)');
  await knex.raw('alter table user_activity add constraint user_activity_chain_position_key unique (chain_position)');
  for (const [name, definition] of PARENT_INDEXES) await knex.raw(`create index ${name} on user_activity ${definition}`);
  await knex.raw(APPEND_ONLY_FUNCTION_V2);
  await knex.raw('create trigger user_activity_append_only before update or delete on user_activity for each row execute function activity_tracking_append_only()');
  await knex.raw('create trigger user_activity_no_truncate before truncate on user_activity for each statement execute function activity_tracking_append_only()');
}
