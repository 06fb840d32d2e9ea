import { useEffect, useRef } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { pathOf } from '../api/client';
import type { ActivityDetail, DiffEntry } from '../api/types';
import { useConsole } from '../context';
import { useI18n, type MessageKey } from '../i18n/i18n';
import { FIELD_LABELS } from '../i18n/fieldLabels';
import { useLoad } from '../hooks/useLoad';
import { Link } from '../routing/navigation';
import { ErrorNotice, Status } from './Notice';
import { TableHead } from './TableHead';
import { Time } from './Time';
import { deviceText, inlineJson, Json, locationText, Missing, SeverityBadge, StatusBadge } from './values';
import { M } from '../i18n/keys';

type Field = keyof ActivityDetail;

/** The row's fields in groups; any field the server adds later is listed under "Other fields". */
const GROUPS: Array<{ title: MessageKey; fields: Field[] }> = [
  { title: M.detailWhen, fields: ['startTime', 'endTime', 'duration', 'createdAt'] },
  { title: M.detailWho, fields: ['userId', 'sessionId', 'actorType', 'actorRole', 'actorName', 'tenantId', 'ownerId'] },
  { title: M.detailWhat, fields: ['activityType', 'action', 'category', 'status', 'reason', 'entityType', 'entityId', 'entityName', 'personalData'] },
  { title: M.detailRequest, fields: ['method', 'path', 'route', 'statusCode', 'success', 'requestSize', 'responseSize'] },
  { title: M.detailClient, fields: ['ipAddress', 'userAgent', 'browser', 'operatingSystem', 'deviceInfo', 'location'] },
  { title: M.detailRisk, fields: ['severity', 'riskScore', 'riskFactors', 'anomaly'] },
];
const SHOWN_ELSEWHERE = new Set<string>(['id', 'details', 'changes', 'chain', ...GROUPS.flatMap((g) => g.fields)]);

interface DetailPanelProps {
  id: string;
  onClose(): void;
}

/**
 * One activity in full: every field, its details and changes as text, its place in the hash chain,
 * and links to its session's, its user's and its entity's timelines. Focus moves into the panel when
 * it opens and back to where it was when it closes (Escape or the Close button).
 */
export function DetailPanel({ id, onClose }: DetailPanelProps) {
  const { api } = useConsole();
  const { t } = useI18n();
  const heading = useRef<HTMLHeadingElement>(null);
  const loaded = useLoad((signal) => api.get<{ data: ActivityDetail }>(pathOf('activities', id), {}, signal).then((r) => r.data), [id]);

  const panel = useRef<HTMLElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  const close = useRef(onClose);
  close.current = onClose;

  // Each activity shown: remember what opened it (a row outside the panel), then move focus in.
  useEffect(() => {
    const active = document.activeElement;
    if (active instanceof HTMLElement && !panel.current?.contains(active)) opener.current = active;
    heading.current?.focus();
  }, [id]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && !event.defaultPrevented) {
        event.preventDefault();
        close.current();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      // Back to the row that opened the panel, if it is still on the page.
      if (opener.current?.isConnected) opener.current.focus();
    };
  }, []);

  const row = loaded.data;
  return (
    <section id="detail" ref={panel} class="detail" aria-label={t(M.detailLabel)} data-ready={loaded.loading ? 'false' : 'true'}>
      <div class="detail-head">
        <h2 tabIndex={-1} ref={heading}>{row ? `${row.activityType}${row.action ? ` · ${row.action}` : ''}` : t(M.detailLabel)}</h2>
        <button type="button" class="button" onClick={onClose}>{t(M.commonClose)}</button>
      </div>
      <p class="muted small mono">{id}</p>
      <Status>{loaded.loading ? t(M.commonLoading) : ''}</Status>
      {loaded.error && <ErrorNotice error={loaded.error} />}
      {row && <DetailBody row={row} />}
    </section>
  );
}

function DetailBody({ row }: { row: ActivityDetail }) {
  const { t } = useI18n();
  const others = Object.keys(row).filter((key) => !SHOWN_ELSEWHERE.has(key));
  const diff = Array.isArray(row.changes?.diff) ? row.changes.diff : null;
  return (
    <div class="detail-body">
      <ul class="detail-links">
        {row.sessionId && <li><Link view="timeline" params={{ kind: 'session', id: row.sessionId }}>{t(M.detailSessionTimeline)}</Link></li>}
        {row.userId && <li><Link view="timeline" params={{ kind: 'user', id: row.userId }}>{t(M.detailUserTimeline)}</Link></li>}
        {row.entityType && row.entityId && <li><Link view="timeline" params={{ kind: 'entity', entityType: row.entityType, entityId: row.entityId }}>{t(M.detailEntityTrail)}</Link></li>}
      </ul>
      {GROUPS.map((group) => {
        // Every field is listed: those with a value as rows, the empty ones named on one line below.
        const empty = group.fields.filter((field) => isEmpty(row[field]));
        return (
          <FieldGroup key={group.title} title={t(group.title)}
            after={empty.length > 0 ? <p class="empty-fields">{t(M.detailEmpty, { fields: empty.map((field) => t(FIELD_LABELS[field] ?? M.detailOther)).join(', ') })}</p> : null}>
            {group.fields.filter((field) => !isEmpty(row[field])).map((field) => <FieldRow key={field} name={field} row={row} />)}
          </FieldGroup>
        );
      })}
      {others.length > 0 && (
        <FieldGroup title={t(M.detailOther)}>
          {others.map((field) => (
            <div class="field-row" key={field}><dt>{field}</dt><dd>{inlineJson((row as unknown as Record<string, unknown>)[field]) || <Missing />}</dd></div>
          ))}
        </FieldGroup>
      )}
      {row.changes && (
        <section class="detail-section">
          <h3>{t(M.detailChanges)}</h3>
          {diff && diff.length > 0 ? <DiffTable diff={diff} /> : (
            <div class="before-after">
              <div><h4>{t(M.detailBefore)}</h4><Json value={row.changes.before ?? null} label={t(M.detailBefore)} /></div>
              <div><h4>{t(M.detailAfter)}</h4><Json value={row.changes.after ?? null} label={t(M.detailAfter)} /></div>
            </div>
          )}
        </section>
      )}
      <section class="detail-section">
        <h3>{t(M.fieldDetails)}</h3>
        <Json value={row.details ?? null} label={t(M.fieldDetails)} />
      </section>
      <section class="detail-section">
        <h3>{t(M.detailChain)}</h3>
        {row.chain ? (
          <dl class="fields">
            <div class="field-row"><dt>{t(M.detailChainPosition)}</dt><dd class="mono">{String(row.chain.position ?? '—')}</dd></div>
            <div class="field-row"><dt>{t(M.detailPrevHash)}</dt><dd class="mono hash">{row.chain.prevHash ?? '—'}</dd></div>
            <div class="field-row"><dt>{t(M.detailRowHash)}</dt><dd class="mono hash">{row.chain.rowHash ?? '—'}</dd></div>
            <div class="field-row"><dt>{t(M.detailHashVersion)}</dt><dd>{String(row.chain.hashVersion ?? '—')}</dd></div>
          </dl>
        ) : <p class="muted">{t(M.detailNoChain)}</p>}
      </section>
    </div>
  );
}

function FieldGroup({ title, children, after }: { title: string; children: ComponentChildren; after?: ComponentChildren }) {
  return (
    <section class="detail-section">
      <h3>{title}</h3>
      <dl class="fields">{children}</dl>
      {after}
    </section>
  );
}

function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0);
}

function FieldRow({ name, row }: { name: Field; row: ActivityDetail }) {
  const { t } = useI18n();
  return (
    <div class="field-row">
      <dt>{t(FIELD_LABELS[name] ?? M.detailOther)}</dt>
      <dd><FieldValue name={name} row={row} /></dd>
    </div>
  );
}

function FieldValue({ name, row }: { name: Field; row: ActivityDetail }): preact.JSX.Element {
  const { t, fmt } = useI18n();
  const value = row[name];
  if (value === null || value === undefined || value === '') return <Missing />;
  switch (name) {
    case 'startTime': case 'endTime': case 'createdAt': return <Time iso={value as string} />;
    case 'duration': return <>{fmt.duration(value as number)}</>;
    case 'requestSize': case 'responseSize': return <>{fmt.bytes(value as number)}</>;
    case 'success': return <StatusBadge success={row.success} statusCode={null} />;
    case 'personalData': case 'anomaly': return <>{value ? t(M.commonYes) : t(M.commonNo)}</>;
    case 'severity': return <SeverityBadge severity={row.severity} />;
    case 'riskScore': return <>{fmt.decimal(value as number, 2)}</>;
    case 'riskFactors': return Array.isArray(value) && value.length > 0 ? <ul class="tags">{value.map((f) => <li key={String(f)}>{String(f)}</li>)}</ul> : <Missing />;
    case 'deviceInfo': return <>{deviceText(row.deviceInfo) || inlineJson(value)}</>;
    case 'location': return <>{locationText(row.location) || inlineJson(value)}</>;
    default: return <>{typeof value === 'string' ? value : inlineJson(value)}</>;
  }
}

export function DiffTable({ diff }: { diff: DiffEntry[] }) {
  const { t } = useI18n();
  return (
    <table class="data diff">
      <caption>{t(M.detailDiffCaption)}</caption>
      <TableHead cols={[M.detailDiffPath, M.detailBefore, M.detailAfter]} />
      <tbody>
        {diff.map((entry, index) => (
          <tr key={`${index}:${entry.path}`}>
            <th scope="row" class="mono">{String(entry.path)}</th>
            <td class="mono diff-before">{inlineJson(entry.before)}</td>
            <td class="mono diff-after">{inlineJson(entry.after)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
