/**
 * The statements behind a console view, caught as the tracker's knex sends them, and their
 * EXPLAIN (ANALYZE, BUFFERS) with the same bindings: the plan PostgreSQL picks for those values.
 */
import type { Knex } from 'knex';
import type { Client } from 'pg';
import { messageOf } from '../lib/util/messageOf';
import { isReportRead } from './benchSupport';

export interface CapturedStatement {
  sql: string;
  bindings: unknown[];
}

/** Collects the report reads sent while `during` runs; one entry per distinct statement text. */
export async function captureReads(knex: Knex, during: () => Promise<void>): Promise<CapturedStatement[]> {
  const seen = new Map<string, CapturedStatement>();
  const listener = (q: { sql: string; bindings?: unknown[] }): void => {
    if (isReportRead(q.sql) && !seen.has(q.sql)) seen.set(q.sql, { sql: q.sql, bindings: q.bindings ?? [] });
  };
  knex.on('query', listener);
  try {
    await during();
  } finally {
    knex.off('query', listener);
  }
  return [...seen.values()];
}

/** The plan's lines, or the reason EXPLAIN failed. ANALYZE runs the statement: reads only. */
export async function explainAnalyze(client: Client, statement: CapturedStatement): Promise<string[]> {
  try {
    const result = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${statement.sql}`, statement.bindings);
    return result.rows.map((r) => r['QUERY PLAN']);
  } catch (error) {
    return [`EXPLAIN failed: ${messageOf(error)}`];
  }
}

/** `Execution Time: 12.345 ms` of an analyzed plan, in ms. */
export function executionMs(plan: string[]): number {
  for (const line of plan) {
    const m = /^\s*Execution Time: ([\d.]+) ms/.exec(line);
    if (m?.[1]) return Number(m[1]);
  }
  return NaN;
}
