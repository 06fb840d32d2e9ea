import { useEffect, useState } from 'preact/hooks';
import type { ApiFailure } from '../api/client';
import { asFailure, useLoad } from './useLoad';

/** A page of a list and how to ask for the one after it (null: it was the last). */
export interface ListPage<T, C> { items: T[]; next: C | null; total: number | null }

export interface AppendingList<T> {
  items: T[];
  loading: boolean;
  loadingMore: boolean;
  error: ApiFailure | undefined;
  total: number | null;
  hasMore: boolean;
  loadMore(): void;
}

/** A list read page by page, each appended below the last ("Load more"), restarted when `deps` change. */
export function useAppendingList<T, C>(loadPage: (cursor: C | null, signal?: AbortSignal) => Promise<ListPage<T, C>>, deps: unknown[]): AppendingList<T> {
  const first = useLoad((signal) => loadPage(null, signal), deps);
  const [more, setMore] = useState<{ items: T[]; next: C | null | undefined; busy: boolean; error: ApiFailure | undefined }>({ items: [], next: undefined, busy: false, error: undefined });
  useEffect(() => setMore({ items: [], next: undefined, busy: false, error: undefined }), [first.data]);

  const next = more.next === undefined ? first.data?.next ?? null : more.next;
  const loadMore = () => {
    if (next === null || more.busy) return;
    setMore((m) => ({ ...m, busy: true, error: undefined }));
    loadPage(next).then(
      (page) => setMore((m) => ({ items: [...m.items, ...page.items], next: page.next, busy: false, error: undefined })),
      (error: unknown) => setMore((m) => ({ ...m, busy: false, error: asFailure(error) })),
    );
  };
  return {
    items: [...(first.data?.items ?? []), ...more.items],
    loading: first.loading,
    loadingMore: more.busy,
    error: first.error ?? more.error,
    total: first.data?.total ?? null,
    hasMore: next !== null,
    loadMore,
  };
}
