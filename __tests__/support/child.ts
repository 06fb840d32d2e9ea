import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { RecorderStats } from '../../lib/recorder/recorder';
import type { Options } from '../../lib/types';
import { waitFor } from './recorder';

const REGISTER_TS = path.join(__dirname, 'register-ts.js');

/** Runs a support script (TypeScript) in a process of its own; stdout is collected. */
export function runScript(script: string, args: string[]): { child: ChildProcess; output: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, ['-r', REGISTER_TS, path.join(__dirname, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
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

/** Starts __tests__/support/childApp.ts with these tracker options and waits until it listens. */
export async function startChildApp(options: Options): Promise<ChildApp> {
  const { child, output, exited } = runScript('childApp.ts', [JSON.stringify(options)]);
  await waitFor(() => /listening \d+/.test(output()), 30_000, () => `the child app to listen: ${output()}`);
  const url = `http://127.0.0.1:${/listening (\d+)/.exec(output())?.[1]}`;
  return {
    child, url, exited,
    stats: async () => (await (await fetch(`${url}/__stats`)).json()) as RecorderStats,
  };
}
