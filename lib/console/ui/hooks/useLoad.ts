import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, isAbort } from '../api/client';

export interface Loaded<T> {
  loading: boolean;
  data: T | undefined;
  error: ApiFailure | undefined;
  reload(): void;
  /** Replaces the data in place (an acknowledged alert, a row that arrived live). */
  update(change: (data: T) => T): void;
}

/**
 * Runs `load` whenever a dependency changes (or reload() is called), aborting the call it
 * replaces so a slow answer to an older query never overwrites a newer one.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ loading: boolean; data: T | undefined; error: ApiFailure | undefined }>({ loading: true, data: undefined, error: undefined });
  const [round, setRound] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ loading: true, data: previous.data, error: undefined }));
    load(controller.signal).then(
      (data) => { if (!controller.signal.aborted) setState({ loading: false, data, error: undefined }); },
      (error: unknown) => {
        if (controller.signal.aborted || isAbort(error)) return;
        setState({ loading: false, data: undefined, error: asFailure(error) });
      },
    );
    return () => controller.abort();
    // `load` is a new closure each render: the caller's deps say when it reads something else.
  }, [...deps, round]);

  return {
    ...state,
    reload: () => setRound((n) => n + 1),
    update: (change) => setState((previous) => (previous.data === undefined ? previous : { ...previous, data: change(previous.data) })),
  };
}

export function asFailure(error: unknown): ApiFailure {
  if (error instanceof ApiFailure) return error;
  return new ApiFailure(0, 'ERR_AT_CLIENT', error instanceof Error ? error.message : String(error));
}
