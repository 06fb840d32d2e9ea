import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { pathOf } from '../api/client';
import type { ActivityRow, AuditTrailItem, Page } from '../api/types';
import { useConsole } from '../context';
import { useI18n } from '../i18n/i18n';
import { useAppendingList, type AppendingList } from '../hooks/useAppendingList';
import { useNavigation } from '../routing/navigation';
import { DetailPanel, DiffTable } from '../components/DetailPanel';
import { Empty, ErrorNotice, Status } from '../components/Notice';
import { Time } from '../components/Time';
import { ViewRoot } from '../components/ViewRoot';
import { Json, Missing, StatusBadge } from '../components/values';
import { M } from '../i18n/keys';

const PAGE = 100;
type Kind = 'session' | 'user' | 'entity';

/** Which timeline the URL asks for; null when it names none completely. */
function subjectOf(params: URLSearchParams): { kind: Kind; id: string; entityType: string; entityId: string } | null {
  const kind = params.get('kind');
  const id = params.get('id') ?? '';
  const entityType = params.get('entityType') ?? '';
  const entityId = params.get('entityId') ?? '';
  if ((kind === 'session' || kind === 'user') && id !== '') return { kind, id, entityType, entityId };
  if (kind === 'entity' && entityType !== '' && entityId !== '') return { kind, id, entityType, entityId };
  return null;
}

/** A session's, a user's or an entity's activities in time order, as a vertical list. */
export function Timeline() {
  const { t } = useI18n();
  const { route } = useNavigation();
  const subject = subjectOf(route.params);
  const title = !subject ? t(M.timelineTitle)
    : subject.kind === 'session' ? t(M.timelineOfSession, { id: subject.id })
    : subject.kind === 'user' ? t(M.timelineOfUser, { id: subject.id })
    : t(M.timelineOfEntity, { type: subject.entityType, id: subject.entityId });
  return (
    <>
      {subject === null ? (
        <ViewRoot view="timeline" ready title={title}><TimelinePicker /></ViewRoot>
      ) : subject.kind === 'entity' ? (
        <EntityTimeline key={route.params.toString()} title={title} entityType={subject.entityType} entityId={subject.entityId} />
      ) : (
        <ActivityTimeline key={route.params.toString()} title={title} kind={subject.kind} id={subject.id} />
      )}
    </>
  );
}

function TimelinePicker() {
  const { t } = useI18n();
  const { route, navigate } = useNavigation();
  const [kind, setKind] = useState<Kind>((route.params.get('kind') as Kind | null) ?? 'session');
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const value = (name: string) => String(form.get(name) ?? '').trim();
    navigate('timeline', kind === 'entity' ? { kind, entityType: value('entityType'), entityId: value('entityId') } : { kind, id: value('id') });
  };
  return (
    <form class="card picker" onSubmit={submit}>
      <p>{t(M.timelinePick)}</p>
      <div class="filter-grid">
        <div class="field">
          <label for="timeline-kind">{t(M.timelineKind)}</label>
          <select id="timeline-kind" name="kind" value={kind} onChange={(event) => setKind((event.currentTarget as HTMLSelectElement).value as Kind)}>
            <option value="session">{t(M.timelineKindSession)}</option>
            <option value="user">{t(M.timelineKindUser)}</option>
            <option value="entity">{t(M.timelineKindEntity)}</option>
          </select>
        </div>
        {kind === 'entity' ? (
          <>
            <div class="field"><label for="timeline-entityType">{t(M.fieldEntityType)}</label><input id="timeline-entityType" name="entityType" required /></div>
            <div class="field"><label for="timeline-entityId">{t(M.fieldEntityId)}</label><input id="timeline-entityId" name="entityId" required /></div>
          </>
        ) : (
          <div class="field"><label for="timeline-id">{kind === 'session' ? t(M.fieldSessionId) : t(M.fieldUserId)}</label><input id="timeline-id" name="id" required /></div>
        )}
      </div>
      <div class="form-actions"><button type="submit" class="button primary">{t(M.timelineShow)}</button></div>
    </form>
  );
}

/** One timeline entry, whichever list it comes from. */
interface Entry {
  id: string;
  time: string;
  success: boolean;
  statusCode: number | null;
  activityType: string;
  action: string | null;
  method: string | null;
  path: string | null;
  /** The entry's own lines: who, where, what changed. */
  body: ComponentChildren;
}

function ActivityTimeline({ title, kind, id }: { title: string; kind: 'session' | 'user'; id: string }) {
  const { api } = useConsole();
  const { t, fmt } = useI18n();
  const list = useAppendingList<ActivityRow, string>(async (after, signal) => {
    const query = { [kind === 'session' ? 'sessionId' : 'userId']: id, order: 'asc', orderBy: 'startTime', limit: PAGE, after };
    const page = await api.get<Page<ActivityRow>>('/activities', query, signal);
    return { items: page.data, next: page.pagination.nextCursor ?? null, total: page.pagination.total };
  }, [kind, id]);
  const entries = list.items.map((row): Entry => ({
    ...row,
    time: row.startTime,
    body: (
      <div class="muted small">
        {kind === 'session' ? (row.userId ?? t(M.timelineAnonymous)) : (row.sessionId ?? '')}
        {row.duration !== null ? ` · ${fmt.duration(row.duration)}` : ''}
        {row.ipAddress ? ` · ${row.ipAddress}` : ''}
        {row.entityType ? ` · ${row.entityType}${row.entityId ? ` ${row.entityId}` : ''}` : ''}
      </div>
    ),
  }));
  return <TimelineView title={title} list={list} entries={entries} />;
}

function EntityTimeline({ title, entityType, entityId }: { title: string; entityType: string; entityId: string }) {
  const { api } = useConsole();
  const { t } = useI18n();
  const list = useAppendingList<AuditTrailItem, number>(async (offset, signal) => {
    const start = offset ?? 0;
    const page = await api.get<Page<AuditTrailItem>>(`/entities${pathOf(entityType, entityId)}/audit-trail`, { limit: PAGE, offset: start }, signal);
    const next = start + page.data.length < page.pagination.total && page.data.length > 0 ? start + page.data.length : null;
    return { items: page.data, next, total: page.pagination.total };
  }, [entityType, entityId]);
  const entries = list.items.map((item): Entry => ({
    ...item,
    body: (
      <>
        <div class="small">
          {item.status && item.status !== 'success' && <span class="badge">{item.status}</span>}{' '}
          {t(M.timelineBy)} <strong>{item.userId ?? t(M.timelineAnonymous)}</strong>
          {item.actorName ? ` (${item.actorName})` : ''}{item.actorType ? ` · ${item.actorType}` : ''}{item.ipAddress ? ` · ${item.ipAddress}` : ''}
        </div>
        {item.reason !== null && item.reason !== undefined && item.reason !== '' && (
          <div class="small">{t(M.fieldReason)}: {typeof item.reason === 'string' ? item.reason : JSON.stringify(item.reason)}</div>
        )}
        {Array.isArray(item.diff) && item.diff.length > 0 ? <DiffTable diff={item.diff} />
          : (item.before !== null || item.after !== null) && (
            <div class="before-after">
              <div><h3 class="small-heading">{t(M.detailBefore)}</h3>{item.before === null ? <Missing /> : <Json value={item.before} label={t(M.detailBefore)} />}</div>
              <div><h3 class="small-heading">{t(M.detailAfter)}</h3>{item.after === null ? <Missing /> : <Json value={item.after} label={t(M.detailAfter)} />}</div>
            </div>
          )}
      </>
    ),
  }));
  return <TimelineView title={title} list={list} entries={entries} />;
}

/** The entries as a vertical list, oldest first, each opening its activity's detail panel; "Load more" below. */
function TimelineView({ title, list, entries }: { title: string; list: AppendingList<unknown>; entries: Entry[] }) {
  const { t, fmt } = useI18n();
  const [detailId, setDetailId] = useState<string | null>(null);
  return (
    <ViewRoot view="timeline" ready={!list.loading} title={title} subtitle={list.total === null ? undefined : list.total === 1 ? t(M.timelineCountOne) : t(M.timelineCount, { count: fmt.number(list.total) })}>
      <Status>{list.loading ? t(M.commonLoading) : ''}</Status>
      {list.error && <ErrorNotice error={list.error} />}
      {!list.loading && entries.length === 0 && !list.error && <Empty>{t(M.timelineEmpty)}</Empty>}
      <ol class="timeline" aria-label={title}>
        {entries.map((entry) => (
          <li key={entry.id} data-activity-id={entry.id} class={entry.success ? '' : 'failed'}>
            <div class="timeline-time"><Time iso={entry.time} /></div>
            <div class="timeline-body">
              <div class="timeline-line">
                <span class="type">{entry.activityType}</span>
                {entry.action && <span class="action">{entry.action}</span>}
                <StatusBadge success={entry.success} statusCode={entry.statusCode} />
              </div>
              {(entry.method || entry.path) && <div class="mono small">{entry.method} {entry.path}</div>}
              {entry.body}
            </div>
            <button type="button" class="button small" onClick={() => setDetailId(entry.id)}>{t(M.commonDetails)}</button>
          </li>
        ))}
      </ol>
      {list.hasMore && !list.loading && (
        <div class="load-more no-print"><button type="button" class="button" onClick={list.loadMore} disabled={list.loadingMore}>{list.loadingMore ? t(M.commonLoading) : t(M.commonLoadMore)}</button></div>
      )}
      {detailId !== null && <DetailPanel id={detailId} onClose={() => setDetailId(null)} />}
    </ViewRoot>
  );
}
