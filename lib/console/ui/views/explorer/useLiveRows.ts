import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApiClient } from '../../api/client';
import type { ActivityRow } from '../../api/types';
import { useLiveStream, type LiveStream } from './useLiveStream';

/** Rows kept while live: the newest first, at most this many. */
export const LIVE_CAP = 500;
/** How long a row that arrived live stays highlighted. */
const FRESH_MS = 3000;

export interface LiveRows {
  /** Rows received since live mode started (or the filters changed), newest first. */
  liveRows: ActivityRow[];
  /** Ids of the rows that arrived in the last FRESH_MS (the table highlights them). */
  fresh: ReadonlySet<string>;
  /** How many rows arrived, for the polite announcement. */
  received: number;
  stream: LiveStream;
}

/** The explorer's live mode: the stream's rows, which of them are new, and how many came. */
export function useLiveRows(api: ApiClient, enabled: boolean, params: Record<string, string>, onRefused: () => void): LiveRows {
  const [liveRows, setLiveRows] = useState<ActivityRow[]>([]);
  const [received, setReceived] = useState(0);
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const timers = useRef(new Set<ReturnType<typeof setTimeout>>());
  useEffect(() => () => { for (const timer of timers.current) clearTimeout(timer); }, []);

  // Other filters, other rows: start over.
  const key = JSON.stringify(params);
  useEffect(() => {
    setLiveRows([]);
    setReceived(0);
  }, [key]);

  const onRow = (row: ActivityRow) => {
    setLiveRows((rows) => [row, ...rows.filter((r) => r.id !== row.id)].slice(0, LIVE_CAP));
    setReceived((n) => n + 1);
    setFresh((ids) => new Set(ids).add(row.id));
    const timer = setTimeout(() => {
      timers.current.delete(timer);
      setFresh((ids) => {
        const next = new Set(ids);
        next.delete(row.id);
        return next;
      });
    }, FRESH_MS);
    timers.current.add(timer);
  };
  const stream = useLiveStream(api, enabled, params, onRow, onRefused);
  return { liveRows, fresh, received, stream };
}
