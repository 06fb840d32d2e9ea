import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { RecorderStats } from '../../lib/recorder/recorder';
import type { Options } from '../../lib/types';
import { waitFor } from './recorder';

const REGISTER_TS = path.join(__dirname, 'register-ts.js');

/** Runs a support script (TypeScript) in a process of its own, with `env` over this one's (undefined removes); stdout is collected. */
export function runScript(script: string, args: string[], env: Record<string, string | undefined> = {}): { child: ChildProcess; output: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const childEnv = { ...process.env, ...env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete childEnv[name];
  const child = spawn(process.execPath, ['-r', REGISTER_TS, path.join(__dirname, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: childEnv });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, exited };
}

export interface ChildApp {
  child: ChildProcess;
  url: string;
  stats(): Promise<RecorderStats>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts __tests__/support/childApp.ts with these tracker options (and `env`) and waits until it listens. */
export async function startChildApp(options: Options, env: Record<string, string | undefined> = {}): Promise<ChildApp> {
  const { child, output, exited } = runScript('childApp.ts', [JSON.stringify(options)], env);
  await waitFor(() => /listening \d+/.test(output()), 30_000, () => `the child app to listen: ${output()}`);
  const url = `http://127.0.0.1:${/listening (\d+)/.exec(output())?.[1]}`;
  return {
    child, url, exited,
    stats: async () => (await (await fetch(`${url}/__stats`)).json()) as RecorderStats,
  };
}
