import type { Database } from '../database';
import { messageOf } from '../../util/messageOf';

/** Whether the database answered `select 1`, how fast, and what went wrong when it did not. */
export interface DatabaseProbe {
  reachable: boolean;
  latencyMs: number;
  error: string | null;
}

/** Asks the database for `select 1` and stops waiting after `timeoutMs`: a server that hangs counts as unreachable. */
export async function probeDatabase(db: Database, timeoutMs: number): Promise<DatabaseProbe> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      db.raw('select 1'),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
    ]);
    return { reachable: true, latencyMs: Math.round(performance.now() - started), error: null };
  } catch (error) {
    return { reachable: false, latencyMs: Math.round(performance.now() - started), error: messageOf(error) };
  } finally {
    clearTimeout(timer);
  }
}
