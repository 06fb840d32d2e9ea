import { useMemo, useState } from 'preact/hooks';
import { downloadFile } from '../api/download';
import type { ActivityRow, Page } from '../api/types';
import { useConsole } from '../context';
import { useI18n } from '../i18n/i18n';
import { asFailure, useLoad } from '../hooks/useLoad';
import type { ApiFailure } from '../api/client';
import { useNavigation } from '../routing/navigation';
import { ActivityTable } from '../components/ActivityTable';
import { DetailPanel } from '../components/DetailPanel';
import { Empty, ErrorNotice, Status } from '../components/Notice';
import { ViewRoot } from '../components/ViewRoot';
import { FilterForm } from './explorer/FilterForm';
import {
  activitiesParams, explorerQueryOf, exportParams, firstPage, liveParams, pageHistoryOf, paramsOf, usesKeyset, type ExplorerQuery,
} from './explorer/explorerQuery';
import { LIVE_CAP, useLiveRows } from './explorer/useLiveRows';
import { M } from '../i18n/keys';

/**
 * The activity explorer: every /activities filter (bookmarkable: the URL holds them), keyset pages,
 * a detail panel per row, CSV download of the same filters, and live mode.
 */
export function Explorer() {
  const { api } = useConsole();
  const { t, fmt } = useI18n();
  const { route, navigate } = useNavigation();
  const query = explorerQueryOf(route.params);
  const pages = pageHistoryOf(route.state);
  const loaded = useLoad((signal) => api.get<Page<ActivityRow>>('/activities', activitiesParams(query), signal), [route.params.toString()]);
  const [detailId, setDetailId] = useState<string | null>(null);

  const go = (next: ExplorerQuery, cursors: Array<string | null> = []) => navigate('explorer', paramsOf(next), { state: { cursors } });
  // Applying the filters already shown reads the rows again rather than adding a history entry.
  const apply = (next: ExplorerQuery) => {
    if (new URLSearchParams(paramsOf(next)).toString() === route.params.toString()) loaded.reload();
    else go(next);
  };

  // Live mode: rows stream in above the page, newest first.
  const [live, setLive] = useState(false);
  const { liveRows, fresh, received, stream } = useLiveRows(api, live, liveParams(query), () => setLive(false));

  const page = loaded.data;
  const rows = useMemo(() => {
    const seen = new Set<string>();
    return [...liveRows, ...(page?.data ?? [])].filter((row) => !seen.has(row.id) && seen.add(row.id)).slice(0, LIVE_CAP);
  }, [liveRows, page]);

  // CSV download of the same filters.
  const [download, setDownload] = useState<{ busy: boolean; error: ApiFailure | null; done: number | null }>({ busy: false, error: null, done: null });
  const downloadCsv = async () => {
    setDownload({ busy: true, error: null, done: null });
    try {
      const bytes = await downloadFile(api, '/export', exportParams(query), 'activity-export.csv');
      setDownload({ busy: false, error: null, done: bytes });
    } catch (error) {
      setDownload({ busy: false, error: asFailure(error), done: null });
    }
  };

  const keyset = usesKeyset(query);
  const nextCursor = page?.pagination.nextCursor ?? null;
  const shown = page?.data.length ?? 0;
  const hasNext = keyset ? nextCursor !== null : page !== undefined && query.offset + shown < page.pagination.total;
  const hasPrevious = keyset ? query.after !== null : query.offset > 0;
  const next = () => {
    if (keyset && nextCursor) go({ ...query, after: nextCursor }, [...pages.cursors, query.after]);
    else if (!keyset) go({ ...query, offset: query.offset + query.limit });
  };
  const previous = () => {
    if (!keyset) {
      go({ ...query, offset: Math.max(0, query.offset - query.limit) });
      return;
    }
    // Opened from a bookmark of a later page, the way back is unknown: go to the first page.
    const cursors = [...pages.cursors];
    const before = cursors.length > 0 ? (cursors.pop() ?? null) : null;
    go({ ...query, after: before }, cursors);
  };

  const total = page?.pagination.total ?? 0;
  const totalText = page?.pagination.totalIsLowerBound ? t(M.explorerMatchingAtLeast, { count: fmt.number(total) }) : (total === 1 ? t(M.explorerMatchingOne) : t(M.explorerMatching, { count: fmt.number(total) }));
  const liveState = stream.state === 'live' ? t(M.liveOn) : stream.state === 'connecting' ? t(M.liveConnecting) : stream.state === 'reconnecting' ? t(M.liveReconnecting) : '';
  const liveCount = received === 0 ? '' : received === 1 ? t(M.liveReceivedOne) : t(M.liveReceived, { count: fmt.number(received) });

  return (
    <ViewRoot view="explorer" ready={!loaded.loading} title={t(M.explorerTitle)}>
      <FilterForm key={route.params.toString()} query={query} onApply={apply} onReset={() => apply(explorerQueryOf(new URLSearchParams()))} />
      <div class="toolbar no-print">
        <p class="result-count">{page ? totalText : ''}</p>
        <div class="toolbar-actions">
          <button type="button" class="button" onClick={() => void downloadCsv()} disabled={download.busy}>{download.busy ? t(M.explorerDownloading) : t(M.explorerDownloadCsv)}</button>
          <button type="button" id="live" class={`button toggle${live ? ' on' : ''}`} aria-pressed={live ? 'true' : 'false'} onClick={() => setLive(!live)}>
            <span class="live-dot" aria-hidden="true" />{t(M.explorerLive)}
          </button>
        </div>
      </div>
      <Status>{loaded.loading ? t(M.commonLoading) : download.done !== null ? t(M.explorerDownloaded, { size: fmt.bytes(download.done) }) : ''}</Status>
      <p class="status live-status" role="status" aria-live="polite">
        {[liveState, liveCount].filter(Boolean).join(' · ')}
      </p>
      {stream.error && <ErrorNotice error={stream.error} context={t(M.explorerLive)} />}
      {download.error && <ErrorNotice error={download.error} context={t(M.explorerDownloadCsv)} />}
      {loaded.error && <ErrorNotice error={loaded.error} />}
      {page && rows.length === 0 && <Empty>{t(M.explorerEmpty)}</Empty>}
      {rows.length > 0 && (
        <ActivityTable rows={rows} caption={t(M.explorerCaption)} onOpen={setDetailId} selectedId={detailId} freshIds={fresh} />
      )}
      {page && (hasNext || hasPrevious) && (
        <nav class="pager no-print" aria-label={t(M.pagerLabel)}>
          {keyset && query.after !== null && pages.cursors.length > 1 && (
            <button type="button" class="button" onClick={() => go(firstPage(query))}>{t(M.pagerFirst)}</button>
          )}
          <button type="button" class="button" disabled={!hasPrevious} onClick={previous}>{t(M.pagerPrevious)}</button>
          <button type="button" class="button" disabled={!hasNext} onClick={next}>{t(M.pagerNext)}</button>
        </nav>
      )}
      {detailId !== null && <DetailPanel id={detailId} onClose={() => setDetailId(null)} />}
    </ViewRoot>
  );
}
