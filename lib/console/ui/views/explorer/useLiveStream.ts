import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApiFailure, ApiClient } from '../../api/client';
import { readServerEvents } from '../../api/serverEvents';
import type { ActivityRow } from '../../api/types';
import { asFailure } from '../../hooks/useLoad';

export type LiveState = 'off' | 'connecting' | 'live' | 'reconnecting';

/** Wait before connecting again after the stream broke or ended. */
const RECONNECT_MS = 3000;

export interface LiveStream {
  state: LiveState;
  /** Why the stream stopped or is reconnecting. */
  error: ApiFailure | null;
}

/**
 * While `enabled`, reads `${base}/live?<params>` as Server-Sent Events through fetch (so the bearer
 * header goes along) and hands each `activity` event's row to `onRow`. A broken or ended stream is
 * reopened after 3 s, going on after the last row received (Last-Event-ID); a refusal (429 too many
 * streams, 403, 400) stops live mode and says why. Turning it off aborts the request.
 */
export function useLiveStream(api: ApiClient, enabled: boolean, params: Record<string, string>, onRow: (row: ActivityRow) => void, onRefused: () => void): LiveStream {
  const [state, setState] = useState<LiveStream>({ state: 'off', error: null });
  const handlers = useRef({ onRow, onRefused });
  handlers.current = { onRow, onRefused };
  const key = JSON.stringify(params);

  useEffect(() => {
    if (!enabled) {
      setState((previous) => ({ state: 'off', error: previous.state === 'off' ? previous.error : null }));
      return;
    }
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastId: string | null = null;

    const connect = async (): Promise<void> => {
      setState((previous) => ({ state: previous.state === 'reconnecting' ? 'reconnecting' : 'connecting', error: previous.error }));
      try {
        const response = await api.open('/live', params, {
          signal: controller.signal,
          accept: 'text/event-stream',
          ...(lastId !== null ? { headers: { 'Last-Event-ID': lastId } } : {}),
        });
        if (!response.body) throw new Error('The live stream has no body');
        await readServerEvents(response.body, (event) => {
          if (event.id !== null) lastId = event.id;
          if (event.type === 'ready') setState({ state: 'live', error: null });
          else if (event.type === 'activity') {
            try {
              handlers.current.onRow(JSON.parse(event.data) as ActivityRow);
            } catch {
              // A row that is not JSON is skipped; the next one still arrives.
            }
          }
        });
        // The server ends streams now and then (its maximum duration): open the next one.
        if (!controller.signal.aborted) retry(null);
      } catch (error) {
        if (controller.signal.aborted) return;
        const failure = asFailure(error);
        if (failure.status >= 400 && failure.status < 500) {
          setState({ state: 'off', error: failure });
          handlers.current.onRefused();
          return;
        }
        retry(failure);
      }
    };
    const retry = (failure: ApiFailure | null) => {
      setState({ state: 'reconnecting', error: failure });
      timer = setTimeout(() => void connect(), RECONNECT_MS);
    };
    setState({ state: 'connecting', error: null });
    void connect();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
    // `key` stands for params, a new object each render.
  }, [api, enabled, key]);

  return state;
}
