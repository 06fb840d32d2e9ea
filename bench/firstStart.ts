/**
 * The example app's start, as `npm start` runs it, on a fresh data folder and again on the same
 * folder (the restart):
 *
 *   npm run bench:first-start
 *
 * Each start runs `node [the Node options of the "start" script] dist/example-app/server.js` on
 * the embedded database in a new private temporary folder (ACTIVITY_DATA_DIR; DATABASE_URL is
 * removed from its environment) and a free port, and asks for GET / every 25 ms until the first
 * answer. It reports the time from spawn to that answer, the server's VmRSS and VmHWM (its peak
 * RSS so far) from /proc at that moment, and VmHWM again a second later, then stops it with
 * SIGTERM and waits for it to exit. MB are MiB. Exits 1 when the fresh start goes over the limits
 * below; the temporary folder is removed.
 *
 * The child process in which the package creates a new folder's database (lib/store/
 * freshDatabase.ts) is not counted: it is gone before the server answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const LIMIT_RSS_MB = 300;
const LIMIT_FIRST_ANSWER_MS = 10_000;
const POLL_MS = 25;
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 60_000;
const ROOT = path.join(__dirname, '..', '..');
const SERVER = path.join(ROOT, 'dist', 'example-app', 'server.js');

interface Memory { rssMb: number; hwmMb: number }
interface StartFigures {
  firstAnswerMs: number;
  atAnswer: Memory;
  hwmMbLater: number;
  stopMs: number;
  exitCode: number | null;
}

/** The Node options `npm start` gives the server (`node --x=1 dist/example-app/server.js`), so this runs what it runs. */
function startScriptNodeOptions(): string[] {
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts;
  const options = /\bnode((?:\s+-\S+)*)\s+dist\/example-app\/server\.js/.exec(scripts?.['start'] ?? '')?.[1];
  if (options === undefined) throw new Error('package.json "start" does not run `node … dist/example-app/server.js`: update bench/firstStart.ts to run what it runs');
  return options.trim().split(/\s+/).filter(Boolean);
}

/** VmRSS and VmHWM of a live process, in MB; null once it is gone. */
function memoryOf(pid: number): Memory | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** A port nothing listens on now; the server gets it a moment later. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** True when the server answered (any status), false when nothing listens yet. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', timeout: 5000, agent: false }, (res) => {
      res.resume();
      resolve(true);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function startOnce(nodeOptions: readonly string[], dataDir: string): Promise<StartFigures> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, ACTIVITY_DATA_DIR: dataDir, PORT: String(port) };
  delete env['DATABASE_URL'];
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeOptions, SERVER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    exitCode = code ?? (signal ? 128 : null);
    resolve();
  }));
  const fail = (why: string): Error => {
    child.kill('SIGKILL');
    return new Error(`${why}. Server output:\n${output}`);
  };

  for (;;) {
    if (exitCode !== undefined) throw fail(`The server exited (code ${exitCode}) before its first answer`);
    if (performance.now() - started > START_TIMEOUT_MS) throw fail(`No answer within ${START_TIMEOUT_MS} ms`);
    if (await answers(port)) break;
    await sleep(POLL_MS);
  }
  const firstAnswerMs = performance.now() - started;
  const atAnswer = memoryOf(child.pid!);
  if (!atAnswer) throw fail('The server was gone right after its first answer');
  // What the first request sets off (its row written, jobs started) lands in the next second.
  await sleep(1000);
  const hwmMbLater = memoryOf(child.pid!)?.hwmMb ?? NaN;
  const stopMs = await stop(child, exited);
  return { firstAnswerMs, atAnswer, hwmMbLater, stopMs, exitCode: exitCode ?? null };
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<number> {
  const asked = performance.now();
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
  return performance.now() - asked;
}

function row(label: string, f: StartFigures): string {
  return [
    label.padEnd(9),
    f.firstAnswerMs.toFixed(0).padStart(8),
    f.atAnswer.rssMb.toFixed(0).padStart(7),
    f.atAnswer.hwmMb.toFixed(0).padStart(7),
    f.hwmMbLater.toFixed(0).padStart(9),
    f.stopMs.toFixed(0).padStart(8),
    String(f.exitCode).padStart(5),
  ].join('  ');
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'activity-first-start-'));
  // A folder that does not exist yet, as ./.activity-data before the first `npm start`.
  const dataDir = path.join(root, 'activity-data');
  const nodeOptions = startScriptNodeOptions();
  try {
    const fresh = await startOnce(nodeOptions, dataDir);
    const restart = await startOnce(nodeOptions, dataDir);
    console.log(`node ${[...nodeOptions, path.relative(ROOT, SERVER)].join(' ')} (node ${process.version}, ${os.cpus().length} CPUs); ms from spawn, MB = MiB from /proc/<pid>/status`);
    console.log('start      1st ans   VmRSS   VmHWM  HWM +1 s   stop ms   exit');
    console.log(row('fresh', fresh));
    console.log(row('restart', restart));
    const over: string[] = [];
    if (fresh.atAnswer.rssMb > LIMIT_RSS_MB) over.push(`VmRSS ${fresh.atAnswer.rssMb.toFixed(0)} MB > ${LIMIT_RSS_MB} MB`);
    if (fresh.firstAnswerMs > LIMIT_FIRST_ANSWER_MS) over.push(`first answer ${fresh.firstAnswerMs.toFixed(0)} ms > ${LIMIT_FIRST_ANSWER_MS} ms`);
    console.log(`limits for the fresh start: VmRSS at first answer <= ${LIMIT_RSS_MB} MB, first answer <= ${LIMIT_FIRST_ANSWER_MS} ms: ${over.length ? `OVER (${over.join(', ')})` : 'met'}`);
    if (over.length) process.exitCode = 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
