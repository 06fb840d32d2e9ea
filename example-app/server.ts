/**
 * Runs the example: `npm start`. The activity trail goes to an embedded PostgreSQL under
 * ./.activity-data (ACTIVITY_DATA_DIR to move it), or to the PostgreSQL server in DATABASE_URL.
 */
import type { Server } from 'node:http';
import { createActivityTracker } from '../lib/index';
import { createExampleApp, DEMO_PASSWORD, DEMO_USERNAME, EXAMPLE_TRACKER_OPTIONS } from './app';

async function main(): Promise<void> {
  const tracker = createActivityTracker(EXAMPLE_TRACKER_OPTIONS);
  const where = process.env['DATABASE_URL']
    ? 'the PostgreSQL server in DATABASE_URL'
    : `the embedded database in ${process.env['ACTIVITY_DATA_DIR'] || './.activity-data'}`;
  console.log(`Preparing the activity trail in ${where}…`);
  try {
    await tracker.ready();
  } catch (error) {
    console.error(`Cannot start: ${error instanceof Error ? error.message : String(error)}`);
    await tracker.close().catch(() => undefined);
    process.exit(1);
  }

  const port = parsePort(process.env['PORT']);
  const app = createExampleApp(tracker);
  const server: Server = app.listen(port, () => {
    const address = server.address();
    const base = `http://localhost:${typeof address === 'object' && address !== null ? address.port : port}`;
    console.log([
      '',
      `Example app listening on ${base}/`,
      `  Open ${base}/ and look around.`,
      `  Log in at ${base}/login as "${DEMO_USERNAME}" with password "${DEMO_PASSWORD}".`,
      `  See what was recorded at ${base}/api/activity-tracking/console`,
      '  Press Ctrl+C to stop.',
      '',
    ].join('\n'));
  });
  server.on('error', (error) => {
    console.error(`Cannot listen on port ${port}: ${error.message}`);
    void tracker.close().finally(() => process.exit(1));
  });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      console.log('Stopping now.');
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal} received: closing the server and writing the remaining activity…`);
    // Idle keep-alive connections are closed by server.close(); busy ones get a few seconds.
    const force = setTimeout(() => server.closeAllConnections(), 5000);
    force.unref();
    server.close(() => {
      tracker.close().then(
        () => {
          console.log('Stopped.');
          process.exit(0);
        },
        (error: unknown) => {
          console.error(`Could not store the remaining activity: ${error instanceof Error ? error.message : String(error)}`);
          process.exit(1);
        },
      );
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 3000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`Invalid PORT=${JSON.stringify(value)}: use a port number from 0 to 65535.`);
    process.exit(1);
  }
  return port;
}

void main();
