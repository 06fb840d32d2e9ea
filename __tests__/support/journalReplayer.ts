/**
 * A second application process on the same data folder:
 * `node -r __tests__/support/register-ts.js __tests__/support/journalReplayer.ts <databaseUrl> <journalDir>`.
 * It starts a tracker, which replays what the journal holds; prints its stats as JSON once
 * everything is stored, and exits.
 */
import { createActivityTracker } from '../../lib/tracker';

const [url, journalDir] = process.argv.slice(2);
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string, c?: unknown) => { process.stderr.write(`${m} ${JSON.stringify(c)}\n`); } };
const tracker = createActivityTracker({ database: url, journal: { dir: journalDir as string }, jobs: false, logger: quiet });

void (async () => {
  await tracker.flush();
  const stats = tracker.stats();
  await tracker.close();
  process.stdout.write(`${JSON.stringify(stats)}\n`);
})();
