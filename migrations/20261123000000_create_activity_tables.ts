import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_activity', (t) => {
    t.comment('One row per recorded request or domain event; rows are only ever added.');
    t.uuid('id').primary().comment('UUID v7 generated when the activity was captured; makes writes idempotent and sorts by time');
    t.text('user_id').nullable().comment('Who acted: the signed-in user id, or null for anonymous requests');
    t.text('session_id').nullable().comment('Session the activity belongs to (express-session id hashed, the package cookie, a hashed bearer token or a client fingerprint)');
    t.text('activity_type').notNullable().comment('What happened, from the product vocabulary: login, logout, login_failed, token_refresh, page_view, data_create, data_update, data_delete, data_view, file_upload, file_download, error, system_action, session_start, session_end');
    t.text('entity_type').nullable().comment('Kind of thing acted on, e.g. items for /api/items/:id');
    t.text('entity_id').nullable().comment('Identifier of the thing acted on');
    t.text('action').nullable().comment('What was attempted: create, read, update, delete, login, logout, refresh, upload, download, or a domain action');
    t.jsonb('details').nullable().comment('Sanitized params, query, body excerpt, selected headers and flags (truncated, aborted); secrets are redacted before storage');
    t.text('ip_address').nullable().comment('Client IP as Express req.ip reports it under the host app trust proxy setting');
    t.text('user_agent').nullable().comment('User-Agent header, at most 512 characters');
    t.text('browser').nullable().comment('Browser or HTTP client name and version parsed from the user agent');
    t.text('operating_system').nullable().comment('Operating system name and version parsed from the user agent');
    t.jsonb('device_info').nullable().comment('Device type (desktop, mobile, tablet, bot, cli, unknown), vendor and model');
    t.jsonb('location').nullable().comment('Country, region, city and timezone of public IPs; null for private and loopback addresses');
    t.double('duration').nullable().comment('Milliseconds from request start to response end, from a monotonic clock');
    t.timestamp('start_time', { useTz: true, precision: 3 }).notNullable().comment('When the request started or the event happened');
    t.timestamp('end_time', { useTz: true, precision: 3 }).nullable().comment('When the response ended or the client went away');
    t.text('method').nullable().comment('HTTP method; null for events that are not requests');
    t.text('path').nullable().comment('Request path without the query string; null for events that are not requests');
    t.text('route').nullable().comment('Matched Express route pattern, e.g. /api/items/:id');
    t.integer('status_code').nullable().comment('HTTP status sent; 499 when the client closed the connection first');
    t.boolean('success').notNullable().comment('True for status below 400 and events that succeeded');
    t.integer('request_size').nullable().comment('Request body bytes from Content-Length');
    t.integer('response_size').nullable().comment('Response body bytes from Content-Length, else bytes written to the socket for this response');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now()).comment('When the row was stored');
    t.index(['start_time'], 'user_activity_start_time_idx');
    t.index(['user_id', 'start_time'], 'user_activity_user_time_idx');
    t.index(['session_id', 'start_time'], 'user_activity_session_time_idx');
    t.index(['activity_type', 'start_time'], 'user_activity_type_time_idx');
    t.index(['entity_type', 'entity_id', 'start_time'], 'user_activity_entity_time_idx');
    t.index(['ip_address', 'start_time'], 'user_activity_ip_time_idx');
  });

  await knex.schema.createTable('activity_sessions', (t) => {
    t.comment('One row per session, kept current as its activities are written.');
    t.bigIncrements('id').primary().comment('Surrogate key');
    t.text('session_id').notNullable().unique({ indexName: 'activity_sessions_session_id_key' }).comment('Session identifier, as in user_activity.session_id');
    t.text('user_id').nullable().comment('Latest known user of the session');
    t.timestamp('start_time', { useTz: true, precision: 3 }).notNullable().comment('First activity of the session');
    t.timestamp('end_time', { useTz: true, precision: 3 }).nullable().comment('When the session ended (logout or timeout); null while active');
    t.double('duration').nullable().comment('Milliseconds from the first to the latest activity');
    t.integer('page_views').notNullable().defaultTo(0).comment('page_view activities in the session');
    t.integer('actions_count').notNullable().defaultTo(0).comment('Activities other than page views in the session');
    t.text('ip_address').nullable().comment('IP of the session first request');
    t.text('user_agent').nullable().comment('User agent of the session first request');
    t.jsonb('device_info').nullable().comment('Device of the session first request');
    t.boolean('is_active').notNullable().defaultTo(true).comment('False once the session has ended');
    t.timestamp('last_activity', { useTz: true, precision: 3 }).notNullable().comment('Latest activity of the session');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now()).comment('When the row was stored');
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now()).comment('When the row last changed');
    t.index(['user_id', 'start_time'], 'activity_sessions_user_time_idx');
    t.index(['is_active', 'last_activity'], 'activity_sessions_active_idx');
  });

  await knex.schema.createTable('activity_summaries', (t) => {
    t.comment('Per user per day rollup of user_activity.');
    t.bigIncrements('id').primary().comment('Surrogate key');
    t.text('user_id').notNullable().comment('User the summary is about');
    t.date('day').notNullable().comment('UTC day summarized');
    t.integer('requests').notNullable().defaultTo(0).comment('Requests recorded that day');
    t.integer('page_views').notNullable().defaultTo(0).comment('page_view activities that day');
    t.integer('data_changes').notNullable().defaultTo(0).comment('data_create, data_update and data_delete activities that day');
    t.integer('errors').notNullable().defaultTo(0).comment('Activities that did not succeed that day');
    t.integer('sessions').notNullable().defaultTo(0).comment('Sessions started that day');
    t.double('total_duration').notNullable().defaultTo(0).comment('Sum of request durations in milliseconds');
    t.double('avg_duration').nullable().comment('Average request duration in milliseconds');
    t.timestamp('last_activity', { useTz: true, precision: 3 }).nullable().comment('Latest activity that day');
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now()).comment('When the row last changed');
    t.unique(['user_id', 'day'], { indexName: 'activity_summaries_user_day_key' });
    t.index(['day'], 'activity_summaries_day_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('activity_summaries');
  await knex.schema.dropTableIfExists('activity_sessions');
  await knex.schema.dropTableIfExists('user_activity');
}
