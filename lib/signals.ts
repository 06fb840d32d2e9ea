import type { Logger } from './types';
import { messageOf } from './util/messageOf';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Opt-in shutdown: on SIGTERM or SIGINT, close the tracker, then let the signal do what it would
 * have done. When the app listens for the signal too, exiting is the app's call; when nobody else
 * does, the signal is raised again without this handler, so the process ends as it would have.
 * Returns a function that removes the handlers.
 */
export function closeOnSignals(close: () => Promise<void>, logger: Logger): () => void {
  const handlers = new Map<NodeJS.Signals, () => void>();
  const remove = (): void => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    handlers.clear();
  };
  for (const signal of SIGNALS) {
    const handler = (): void => {
      logger.info(`Received ${signal}; closing activity tracking`);
      close()
        .catch((error: unknown) => logger.error('Closing activity tracking on a signal failed', { error: messageOf(error) }))
        .finally(() => {
          remove();
          if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
        });
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  return remove;
}
