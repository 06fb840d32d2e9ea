import type { ChildProcess, Serializable } from 'node:child_process';

/**
 * Typed request/response over a forked child's IPC channel: `next(type)` waits for the next message
 * of that type, and rejects on a 'failed' message, an early exit or a timeout.
 */
export class ChildChannel<In extends { type: string }, Out extends object> {
  private readonly inbox: In[] = [];
  private wake: (() => void) | undefined;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitPromise: Promise<void>;

  constructor(private readonly child: ChildProcess) {
    child.on('message', (message: In) => {
      this.inbox.push(message);
      this.wake?.();
    });
    this.exitPromise = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        this.wake?.();
        resolve();
      });
    });
  }

  send(message: Out): void {
    this.child.send(message as Serializable);
  }

  async next<T extends In['type']>(type: T, timeoutMs: number): Promise<Extract<In, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex((m) => m.type === type || m.type === 'failed');
      if (index !== -1) {
        const [message] = this.inbox.splice(index, 1) as [In];
        if (message.type === 'failed') throw new Error(`child failed: ${(message as { error?: unknown }).error}`);
        return message as Extract<In, { type: T }>;
      }
      if (this.exit) throw new Error(`child exited (code ${this.exit.code}, signal ${this.exit.signal}) before '${type}'`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`child did not answer '${type}' within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  exited(): Promise<void> {
    return this.exitPromise;
  }
}
