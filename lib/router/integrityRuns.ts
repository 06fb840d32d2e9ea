import { randomUUID } from 'node:crypto';
import type { ChainVerification, VerifyChainOptions } from '../integrity/verify';
import { verifyChain } from '../integrity/verify';
import type { Database } from '../store/database';
import type { ReportPrincipal } from '../types';
import { messageOf } from '../util/messageOf';
import { ApiError } from './apiError';

/** One verification of the chain started from the console, as `GET /integrity/runs/:id` shows it. */
export interface IntegrityRun {
  id: string;
  status: 'running' | 'done' | 'failed';
  userId: string;
  startedAt: string;
  finishedAt: string | null;
  /** Rows found intact so far. */
  rowsChecked: number;
  /** The last chain position read so far: where the progress bar stands. */
  position: number | null;
  /** The chain's last position: when the run started, then the last read if rows came after it (the walk goes on to them). */
  headPosition: number | null;
  result?: ChainVerification;
  /** Why the run could not finish (the database went away); the chain was not judged. */
  error?: string;
}

/** Runs kept for `GET /integrity/runs/:id` after they end. */
const KEPT_RUNS = 20;

/**
 * The verifications this process runs for the console: one at a time (each walks the whole
 * chain), with its progress while it runs, and its result put on the trail when it ends, as an
 * `integrity.verified` event, which is how every instance's console shows the last result.
 */
export class IntegrityRuns {
  private readonly runs = new Map<string, IntegrityRun>();

  constructor(
    private readonly db: Database,
    private readonly options: Omit<VerifyChainOptions, 'onProgress' | 'checkpoint'>,
    private readonly onFinished: (run: IntegrityRun, principal: ReportPrincipal) => void,
  ) {}

  /** Starts a run and answers at once; 409 while another is running. */
  async start(principal: ReportPrincipal, checkpoint: unknown): Promise<IntegrityRun> {
    const running = this.current();
    if (running) throw new ApiError(409, 'ERR_AT_CONFLICT', `A verification started by ${running.userId} at ${running.startedAt} is running (${running.id}); follow it with GET /integrity/runs/${running.id}`);
    const head = (await this.db('user_activity').max({ position: 'chain_position' }).first()) as { position?: unknown } | undefined;
    const run: IntegrityRun = {
      id: randomUUID(), status: 'running', userId: principal.userId, startedAt: new Date().toISOString(), finishedAt: null,
      rowsChecked: 0, position: null, headPosition: head?.position === null || head?.position === undefined ? null : Number(head.position),
    };
    this.keep(run);
    verifyChain(this.db, {
      ...this.options,
      ...(checkpoint === undefined ? {} : { checkpoint }),
      onProgress: (progress) => {
        run.rowsChecked = progress.rowsChecked;
        run.position = progress.position;
        if (run.headPosition === null || progress.position > run.headPosition) run.headPosition = progress.position;
      },
    }).then((result) => {
      Object.assign(run, { status: 'done', result, rowsChecked: result.rowsChecked });
    }, (error: unknown) => {
      Object.assign(run, { status: 'failed', error: messageOf(error) });
    }).finally(() => {
      run.finishedAt = new Date().toISOString();
      this.onFinished(run, principal);
    });
    return run;
  }

  get(id: string): IntegrityRun | undefined {
    return this.runs.get(id);
  }

  current(): IntegrityRun | undefined {
    for (const run of this.runs.values()) if (run.status === 'running') return run;
    return undefined;
  }

  private keep(run: IntegrityRun): void {
    this.runs.set(run.id, run);
    for (const id of this.runs.keys()) {
      if (this.runs.size <= KEPT_RUNS) break;
      if (this.runs.get(id)?.status !== 'running') this.runs.delete(id);
    }
  }
}
