import { rmSync } from 'node:fs';

/** Removes the run's temporary folder (see globalSetup): journals, data folders, exports, consumers. */
export default async function globalTeardown(): Promise<void> {
  const root = process.env['ACTIVITY_TEST_TMP'];
  if (root) rmSync(root, { recursive: true, force: true });
}
