import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Each test file gets a data folder of its own, so the journals of trackers in different files
// (running in parallel) never meet, and nothing is written into the working copy.
process.env['ACTIVITY_DATA_DIR'] = mkdtempSync(path.join(os.tmpdir(), 'activity-test-data-'));

// Most test files store activity that started days or years ago (as an import of history does);
// verify would call every such row backdated. The tests of that check set the bound themselves.
process.env['ACTIVITY_BACKDATED_AFTER_DAYS'] ??= '36500';
