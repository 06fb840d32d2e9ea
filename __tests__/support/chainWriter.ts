/**
 * One application process of __tests__/chainConcurrency.test.ts, run as
 * `node -r __tests__/support/register-ts.js __tests__/support/chainWriter.ts <url> <writer> <count>`.
 *
 * It opens a real tracker on the PostgreSQL URL (its search_path names the test schema), says
 * `ready` on stdout once connected, and waits for `go` on stdin: the test releases all writers at
 * once, so their batches contend for the chain lock instead of running one process after another.
 * It then records `count` domain events as fast as the tracker takes them, closes the tracker and
 * prints the tracker's stats as one JSON line. Exit 0 means every event was stored; otherwise the
 * error is on stderr and the exit code is 1.
 */
import { createActivityTracker } from '../../lib/tracker';
import type { Logger } from '../../lib/types';
import { messageOf } from '../../lib/util/messageOf';

/**
 * knex puts the whole statement before the database's message (`<sql> - <message>`); the write
 * statement is long, and only the message says what went wrong.
 */
function brief(text: string): string {
  const cut = text.lastIndexOf(' - ');
  return cut === -1 ? text : text.slice(cut + 3);
}

function say(level: string): (message: string, context?: Record<string, unknown>) => void {
  return (message, context = {}) => {
    const shown = Object.fromEntries(Object.entries(context).map(([key, value]) => [key, typeof value === 'string' ? brief(value) : value]));
    process.stderr.write(`${level}: ${message} ${JSON.stringify(shown)}\n`);
  };
}

/** Failures go to stderr, where the test shows them; routine messages are dropped. */
const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: say('warn'), error: say('error') };

/** Resolves on the first line from the test; rejects if the test goes away without sending one. */
function waitForGo(): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdin.once('data', () => { process.stdin.destroy(); resolve(); });
    process.stdin.once('end', () => reject(new Error('stdin closed before the test said go')));
  });
}

async function main(argv: readonly string[]): Promise<void> {
  const [url, writerArg, countArg] = argv;
  const writer = Number(writerArg);
  const count = Number(countArg);
  if (!url || !Number.isInteger(writer) || !Number.isInteger(count) || count < 1) {
    throw new Error('usage: chainWriter.ts <postgres url> <writer number> <event count>');
  }
  const tracker = createActivityTracker({ database: url, batchSize: 20, flushIntervalMs: 1, logger: quiet });
  try {
    await tracker.ready();
    process.stdout.write('ready\n');
    await waitForGo();

    // All at once: the recorder queues them and writes batch after batch of 20 without pausing,
    // each batch one transaction under the chain lock, racing the other processes' batches.
    const results = await Promise.allSettled(Array.from({ length: count }, (_, seq) =>
      tracker.record({ action: `writer-${writer}.event`, userId: `writer-${writer}`, details: { seq } })));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) throw new Error(`${failed.length} of ${count} events were not stored; first: ${brief(String(failed[0]?.reason))}`);
  } finally {
    await tracker.close();
  }
  process.stdout.write(`${JSON.stringify(tracker.stats())}\n`);
}

main(process.argv.slice(2)).then(
  () => { process.exitCode = 0; },
  (error: unknown) => {
    process.stderr.write(`chainWriter failed: ${brief(messageOf(error))}\n`);
    process.exitCode = 1;
  },
);
