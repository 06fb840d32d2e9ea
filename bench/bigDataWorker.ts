/**
 * A thread that builds batches of the big-table bench's rows (bench/bigDataRows.ts) on request:
 * the content hashing is most of a row's cost and needs nothing from the rows before it.
 */
import { parentPort } from 'node:worker_threads';
import { buildBatch, planOf, type Batch, type Plan } from './bigDataRows';
import type { ReportDataOptions } from './reportData';

/** What the linking side asks for: windows [from, to) of the load described by `options` (now as epoch milliseconds). */
export interface BatchRequest { id: number; options: Omit<ReportDataOptions, 'now'> & { now: number }; from: number; to: number }
export interface BatchReply { id: number; batch: Batch }

let planned: { key: string; plan: Plan } | undefined;

parentPort?.on('message', (request: BatchRequest) => {
  const options: ReportDataOptions = { ...request.options, now: new Date(request.options.now) };
  const key = JSON.stringify(request.options);
  if (planned?.key !== key) planned = { key, plan: planOf(options) };
  const reply: BatchReply = { id: request.id, batch: buildBatch(options, planned.plan, request.from, request.to) };
  parentPort?.postMessage(reply);
});
