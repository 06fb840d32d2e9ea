import { PassThrough } from 'node:stream';
import { main } from '../../lib/cli/main';
import { withEnv } from './env';

/** Runs the command line in-process with `env` set; its exit code and what it printed on stdout and stderr. */
export async function runCli(argv: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let printed = '';
  let complained = '';
  out.on('data', (chunk: Buffer) => { printed += chunk.toString(); });
  err.on('data', (chunk: Buffer) => { complained += chunk.toString(); });
  const code = await withEnv(env, () => main(argv, out, err));
  return { code, out: printed, err: complained };
}
