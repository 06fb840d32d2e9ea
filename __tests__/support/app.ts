import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express5 from 'express';
import express4 from 'express4';
import type { Knex } from 'knex';
import { createActivityTracker, type ActivityTracker } from '../../lib/tracker';
import type { Logger, Options } from '../../lib/types';

/** Both supported majors; every HTTP test runs against each. */
export const EXPRESS_VERSIONS = [
  ['express 4', express4 as unknown as typeof express5],
  ['express 5', express5],
] as const;

export type ExpressFactory = typeof express5;

/** A logger that keeps what it was told, so tests can assert on reported failures. */
export function memoryLogger(): Logger & { lines: Array<{ level: string; message: string; context?: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; context?: Record<string, unknown> }> = [];
  const log = (level: string) => (message: string, context?: Record<string, unknown>) => { lines.push({ level, message, ...(context ? { context } : {}) }); };
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** A tracker on the test's database, with a journal folder of its own. */
export function testTracker(knex: Knex, options: Options = {}): ActivityTracker {
  return createActivityTracker({ database: knex, flushIntervalMs: 5, logger: memoryLogger(), journal: { dir: tempJournalDir() }, ...options });
}

export function tempJournalDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'activity-journal-'));
}

export interface StoredActivity {
  id: string;
  user_id: string | null;
  session_id: string | null;
  activity_type: string;
  entity_type: string | null;
  entity_id: string | null;
  action: string | null;
  details: Record<string, unknown> | null;
  ip_address: string | null;
  user_agent: string | null;
  browser: string | null;
  operating_system: string | null;
  device_info: { type: string; vendor: string | null; model: string | null } | null;
  location: { country: string | null; region: string | null; city: string | null; timezone: string | null } | null;
  duration: number | null;
  start_time: Date;
  end_time: Date | null;
  method: string | null;
  path: string | null;
  route: string | null;
  status_code: number | null;
  success: boolean;
  request_size: number | null;
  response_size: number | null;
  chain_position: number | string;
  prev_hash: string;
  row_hash: string;
}

/**
 * Requests and domain events in capture order (ids are time-ordered UUIDs; start_time breaks no
 * ties within a millisecond); the session_start and session_end rows the trail adds, and the
 * session.linked and session.rotated rows beside requests, are left out unless asked for.
 */
export async function storedActivities(knex: Knex, options: { sessionEvents?: boolean } = {}): Promise<StoredActivity[]> {
  const query = knex('user_activity').select('*').orderBy([{ column: 'start_time' }, { column: 'id' }]);
  if (!options.sessionEvents) {
    query.whereNotIn('activity_type', ['session_start', 'session_end'])
      .where((q) => { q.whereNull('action').orWhereNotIn('action', ['session.linked', 'session.rotated']); });
  }
  const rows = (await query) as StoredActivity[];
  return rows.map((row) => ({ ...row, duration: row.duration === null ? null : Number(row.duration) }));
}
