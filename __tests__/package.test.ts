import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * What users get is what is tested: the built package, reached through its name and `exports` map,
 * from CommonJS, from an ES module and from TypeScript.
 */
const root = path.join(__dirname, '..');
let consumer: string;

beforeAll(() => {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'pipe' });
  consumer = mkdtempSync(path.join(os.tmpdir(), 'activity-consumer-'));
  mkdirSync(path.join(consumer, 'node_modules'));
  symlinkSync(root, path.join(consumer, 'node_modules', 'express-activity-tracking'), 'dir');
  symlinkSync(path.join(root, 'node_modules', 'express'), path.join(consumer, 'node_modules', 'express'), 'dir');
  symlinkSync(path.join(root, 'node_modules', '@types'), path.join(consumer, 'node_modules', '@types'), 'dir');
  writeFileSync(path.join(consumer, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, esModuleInterop: true, skipLibCheck: false, types: ['node'] },
    files: ['consumer.ts'],
  }));
}, 120_000);
afterAll(() => { rmSync(consumer, { recursive: true, force: true }); });

function run(file: string, source: string): string {
  writeFileSync(path.join(consumer, file), source);
  return execFileSync(process.execPath, [file], { cwd: consumer, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }).trim();
}

const PUBLIC_NAMES = 'activityTracking,activityTrackingRouter,createActivityTracker,migrate,migrationSource,ActivityTrackingError,ACTIVITY_TYPES';

it('loads from CommonJS', () => {
  expect(run('consumer.cjs', `
    const pkg = require('express-activity-tracking');
    console.log('${PUBLIC_NAMES}'.split(',').map((n) => n + ':' + typeof pkg[n]).join(' '));
  `)).toBe('activityTracking:function activityTrackingRouter:function createActivityTracker:function migrate:function migrationSource:object ActivityTrackingError:function ACTIVITY_TYPES:object');
});

it('loads from an ES module with named imports', () => {
  expect(run('consumer.mjs', `
    import { activityTracking, createActivityTracker, migrate, ActivityTrackingError } from 'express-activity-tracking';
    console.log([activityTracking, createActivityTracker, migrate, ActivityTrackingError].map((f) => typeof f).join(' '));
  `)).toBe('function function function function');
});

it('type-checks a TypeScript consumer, req.activity included', () => {
  writeFileSync(path.join(consumer, 'consumer.ts'), `
    import express from 'express';
    import { createActivityTracker, type Options, type ActivityEvent } from 'express-activity-tracking';
    const options: Options = { sessionTimeoutMinutes: 15, classify: (_req, _res, suggested) => suggested };
    const tracker = createActivityTracker(options);
    const app = express();
    app.use(tracker.middleware());
    app.post('/x', (req, res) => { req.activity?.record({ action: 'x.done' }); res.end(); });
    const id: ActivityEvent['id'] = 'x';
    void id;
  `);
  expect(() => execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: consumer, encoding: 'utf8' })).not.toThrow();
}, 60_000);

it("type-checks the README's quick start as written", () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const quickStart = /## Quick start\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(quickStart?.split('\n').filter((line) => line.trim() !== '').length).toBeLessThanOrEqual(15);
  writeFileSync(path.join(consumer, 'quickstart.ts'), quickStart ?? '');
  writeFileSync(path.join(consumer, 'tsconfig.quickstart.json'), JSON.stringify({
    extends: './tsconfig.json', files: ['quickstart.ts'],
  }));
  expect(() => execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.quickstart.json'], { cwd: consumer, encoding: 'utf8' })).not.toThrow();
}, 60_000);

it('ships the activity-tracking command', () => {
  const out = execFileSync(process.execPath, [path.join(root, 'dist', 'lib', 'cli', 'main.js'), 'help'], { encoding: 'utf8' });
  expect(out).toContain('migrate   Create or update the activity tracking tables.');
});

it("ships the console's built assets, found from the built package, and not the script that builds them", () => {
  const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' })) as Array<{ files: Array<{ path: string }> }>;
  const files = (packed[0]?.files ?? []).map((file) => file.path);
  expect(files).toEqual(expect.arrayContaining(['dist/lib/console/assets/console.js', 'dist/lib/console/assets/console.css', 'dist/lib/console/consolePage.js']));
  expect(files.filter((file) => file.includes('buildAssets') || file.includes('lib/console/ui'))).toEqual([]);
  // The installed package's router serves them: the path is resolved from dist, not from the sources.
  const out = run('console.cjs', `
    const { BUILT_ASSETS_DIR, assetsBuilt } = require(${JSON.stringify(path.join(root, 'dist', 'lib', 'console', 'assetFiles.js'))});
    console.log(assetsBuilt() ? BUILT_ASSETS_DIR : 'missing');
  `);
  expect(out).toBe(path.join(root, 'dist', 'lib', 'console', 'assets'));
});
