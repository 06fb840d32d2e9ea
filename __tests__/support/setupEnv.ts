import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Each test file gets a data folder of its own, so the journals of trackers in different files
// (running in parallel) never meet, and nothing is written into the working copy.
process.env['ACTIVITY_DATA_DIR'] = mkdtempSync(path.join(os.tmpdir(), 'activity-test-data-'));
