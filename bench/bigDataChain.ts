/**
 * The linking side of the big-table bench's load: batches of rows built on worker threads
 * (bench/bigDataWorker.ts) are taken in window order, chained from position 1 with encoding 3's
 * link, and yielded as COPY text. A few batches are in flight at a time, so memory stays flat.
 *
 * The link is the one activity_tracking_append_rows makes under the chain lock (SHA-256 of prev_hash,
 * the writer's content hash and the record ('v3', position, scored columns)); the first row of every
 * batch is recomputed with `rowHashOf` (lib/integrity/recordEncoding.ts), the function verifyChain
 * uses, and the load stops if the two ever differ.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { GENESIS_HASH } from '../lib/integrity/encoding';
import { V3_SCORED_COLUMNS } from '../lib/integrity/encodingV3';
import { linkHashV3, rowHashOf, type FieldValue } from '../lib/integrity/recordEncoding';
import { chainColumns } from '../lib/store/columns';
import { planOf, type Batch } from './bigDataRows';
import type { BatchReply, BatchRequest } from './bigDataWorker';
import type { ReportDataOptions } from './reportData';

/** One-minute windows per batch: about 7,700 rows of a 10-million-row load over 90 days. */
const WINDOWS_PER_BATCH = 100;
/** The scored columns are null: no risk scoring at load time, as with a writer that has none configured. */
const SCORED_NULLS: FieldValue[] = V3_SCORED_COLUMNS.map(() => null);
const V2_NULLS: FieldValue[] = chainColumns(2).map(() => null);


/** Worker threads, each answering its requests in order. */
class BatchPool {
  private readonly workers: Worker[];
  private readonly waiting = new Map<number, { resolve: (batch: Batch) => void; reject: (error: Error) => void }>();
  private nextId = 0;

  constructor(threads: number) {
    this.workers = Array.from({ length: threads }, () => {
      const worker = new Worker(path.join(__dirname, 'bigDataWorker.js'));
      worker.on('message', (reply: BatchReply) => {
        this.waiting.get(reply.id)?.resolve(reply.batch);
        this.waiting.delete(reply.id);
      });
      worker.on('error', (error) => this.failAll(error));
      return worker;
    });
  }

  request(options: BatchRequest['options'], from: number, to: number): Promise<Batch> {
    const id = this.nextId;
    this.nextId += 1;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      (this.workers[id % this.workers.length] as Worker).postMessage({ id, options, from, to } satisfies BatchRequest);
    });
  }

  private failAll(error: Error): void {
    for (const { reject } of this.waiting.values()) reject(error);
    this.waiting.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

/** Chains batches one after another. */
class Chainer {
  position = 0;
  prevHash = GENESIS_HASH;

  /** The batch's rows as COPY lines, each with its chain_position, prev_hash, row_hash and hash_version. */
  link(batch: Batch): string {
    const lines = new Array<string>(batch.prefixes.length);
    for (let i = 0; i < batch.prefixes.length; i += 1) {
      this.position += 1;
      const position = String(this.position);
      const contentHash = batch.hashes.slice(i * 64, i * 64 + 64);
      const rowHash = linkHashV3(this.prevHash, contentHash, position, SCORED_NULLS);
      if (i === 0 && batch.sample !== null) this.check(batch.sample.v1, batch.sample.createdMs, position, rowHash);
      lines[i] = `${batch.prefixes[i] as string}${position}\t${this.prevHash}\t${rowHash}\t3\n`;
      this.prevHash = rowHash;
    }
    return lines.join('');
  }

  /** Throws unless verifyChain's own recomputation gives the same row hash. */
  private check(v1: FieldValue[], createdMs: string, position: string, rowHash: string): void {
    const expected = rowHashOf({ position, prevHash: this.prevHash, rowHash: null, createdMs, version: 3, v1, v2: V2_NULLS });
    if (expected !== rowHash) {
      throw new Error(`bench: the row at position ${position} is linked to ${rowHash} here but rowHashOf gives ${String(expected)}: the chain encoding changed; make bench/bigDataChain.ts link rows as activity_tracking_append_rows now does`);
    }
  }
}

/**
 * COPY text of every row of a load, in time order, chained from position 1: one chunk per batch
 * of windows, built `threads` at a time ahead of the one being yielded.
 */
export async function* copyChunks(o: ReportDataOptions, threads: number): AsyncGenerator<string> {
  const windows = planOf(o).windows;
  const options = { rows: o.rows, users: o.users, sessions: o.sessions, days: o.days, sessionTimeoutMinutes: o.sessionTimeoutMinutes, now: o.now.getTime() };
  const pool = new BatchPool(threads);
  const chainer = new Chainer();
  const inFlight: Array<Promise<Batch>> = [];
  let next = 0;
  const ahead = threads * 2;
  try {
    while (next < windows || inFlight.length > 0) {
      while (next < windows && inFlight.length < ahead) {
        const pending = pool.request(options, next, Math.min(windows, next + WINDOWS_PER_BATCH));
        // Rejections are seen when the batch's turn comes; until then they must not count as unhandled.
        pending.catch(() => undefined);
        inFlight.push(pending);
        next += WINDOWS_PER_BATCH;
      }
      yield chainer.link(await (inFlight.shift() as Promise<Batch>));
    }
  } finally {
    await pool.close();
  }
}
