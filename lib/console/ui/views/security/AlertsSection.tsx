import { useEffect, useRef, useState } from 'preact/hooks';
import { pathOf, type ApiFailure } from '../../api/client';
import type { AlertRow, Page } from '../../api/types';
import { useConsole } from '../../context';
import { useI18n } from '../../i18n/i18n';
import { asFailure, useLoad } from '../../hooks/useLoad';
import { Empty, ErrorNotice, Status } from '../../components/Notice';
import { OffsetPager } from '../../components/Pager';
import { TableHead } from '../../components/TableHead';
import { Time } from '../../components/Time';
import { SeverityBadge } from '../../components/values';
import { M } from '../../i18n/keys';

const PAGE = 25;
export const MAX_NOTE_LENGTH = 1000;

interface AlertsSectionProps {
  params: URLSearchParams;
  onParams(changes: Record<string, string | undefined>): void;
  onReady(ready: boolean): void;
}

/** GET /alerts, filtered by status and paged; admins acknowledge an alert with a note. */
export function AlertsSection({ params, onParams, onReady }: AlertsSectionProps) {
  const { api, session } = useConsole();
  const { t } = useI18n();
  const status = params.get('status') === 'open' || params.get('status') === 'acknowledged' ? (params.get('status') as string) : '';
  const offset = Math.max(0, Number(params.get('offset')) || 0);
  const alerts = useLoad((signal) => api.get<Page<AlertRow>>('/alerts', { status, limit: PAGE, offset }, signal), [status, offset]);
  useEffect(() => onReady(!alerts.loading), [alerts.loading]);
  const [acknowledging, setAcknowledging] = useState<string | null>(null);
  const page = alerts.data;

  const acknowledged = (alert: AlertRow) => {
    alerts.update((current) => ({ ...current, data: current.data.map((row) => (row.id === alert.id ? alert : row)) }));
    setAcknowledging(null);
  };

  return (
    <section class="panel" aria-labelledby="alerts-heading">
      <div class="panel-head">
        <h2 id="alerts-heading">{t(M.securityAlerts)}</h2>
        <div class="field inline no-print">
          <label for="alert-status">{t(M.securityStatus)}</label>
          <select id="alert-status" name="status" value={status} onChange={(event) => onParams({ status: (event.currentTarget as HTMLSelectElement).value, offset: undefined })}>
            <option value="">{t(M.commonAny)}</option>
            <option value="open">{t(M.securityOpen)}</option>
            <option value="acknowledged">{t(M.securityAcknowledged)}</option>
          </select>
        </div>
      </div>
      <Status>{alerts.loading ? t(M.commonLoading) : ''}</Status>
      {alerts.error && <ErrorNotice error={alerts.error} />}
      {page && page.data.length === 0 && <Empty>{t(M.securityNoAlerts)}</Empty>}
      {page && page.data.length > 0 && (
        <div class="table-scroll">
          <table class="data alerts">
            <caption>{t(M.securityAlertsCaption)}</caption>
            <TableHead cols={[M.securityRule, M.fieldSeverity, M.securityWindow, M.securitySummary, M.securityStatus, M.securityAcknowledgements, session.access.admin && [M.securityAcknowledge, 'hidden']]} />
            <tbody>
              {page.data.map((alert) => [
                <tr key={alert.id} data-alert-id={alert.id} data-status={alert.status} class={alert.status === 'open' ? 'open' : ''}>
                  <td><span class="type">{alert.rule}</span><div class="muted small mono">{alert.key}</div></td>
                  <td><SeverityBadge severity={alert.severity} /></td>
                  <td class="nowrap small"><Time iso={alert.windowStart} /><br /><Time iso={alert.windowEnd} /></td>
                  <td>{alert.summary}<div class="muted small">{t(M.securityCountedRows, { count: String(alert.count) })}</div></td>
                  <td><span class={`badge ${alert.status === 'open' ? 'badge-fail' : 'badge-ok'}`}>{alert.status === 'open' ? t(M.securityOpen) : t(M.securityAcknowledged)}</span></td>
                  <td>
                    {alert.acknowledgements.length === 0 ? <span class="muted">—</span> : (
                      <ul class="plain acks">
                        {alert.acknowledgements.map((ack) => (
                          <li key={ack.id}>
                            <strong>{ack.acknowledgedBy}</strong> · <Time iso={ack.createdAt} />
                            {ack.note && <div class="note">{ack.note}</div>}
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  {session.access.admin && (
                    <td>
                      <button type="button" class="button small" id={`ack-${alert.id}`} aria-expanded={acknowledging === alert.id ? 'true' : 'false'}
                        onClick={() => setAcknowledging(acknowledging === alert.id ? null : alert.id)}>{t(M.securityAcknowledge)}</button>
                    </td>
                  )}
                </tr>,
                acknowledging === alert.id && (
                  <tr key={`${alert.id}-ack`} class="ack-row">
                    <td colSpan={7}><AcknowledgeForm alert={alert} onDone={acknowledged} onCancel={() => setAcknowledging(null)} /></td>
                  </tr>
                ),
              ])}
            </tbody>
          </table>
        </div>
      )}
      {page && <OffsetPager offset={offset} limit={PAGE} total={page.pagination.total} shown={page.data.length} label={t(M.securityAlertsPager)}
        onPage={(next) => onParams({ offset: next > 0 ? String(next) : undefined })} />}
    </section>
  );
}

/** The note and the POST; focus starts in the note and goes back to the alert's button. */
function AcknowledgeForm({ alert, onDone, onCancel }: { alert: AlertRow; onDone(alert: AlertRow): void; onCancel(): void }) {
  const { api } = useConsole();
  const { t, fmt } = useI18n();
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiFailure | null>(null);
  const field = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    field.current?.focus();
    return () => document.getElementById(`ack-${alert.id}`)?.focus();
  }, []);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = note.trim() === '' ? {} : { note: note.trim() };
      const { data } = await api.post<{ data: AlertRow }>(`/alerts${pathOf(alert.id)}/acknowledge`, body);
      onDone(data);
    } catch (failure) {
      setError(asFailure(failure));
      setBusy(false);
    }
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape') {
      // The form closes, not the page's other panels.
      event.preventDefault();
      event.stopPropagation();
      onCancel();
    }
  };
  return (
    <form class="ack-form" onSubmit={(event) => void submit(event)} onKeyDown={onKeyDown} aria-label={t(M.securityAcknowledgeAlert, { rule: alert.rule })}>
      <div class="field">
        <label for={`note-${alert.id}`}>{t(M.securityNote)}</label>
        <textarea id={`note-${alert.id}`} ref={field} name="note" rows={3} maxLength={MAX_NOTE_LENGTH} value={note} aria-describedby={`note-${alert.id}-count`}
          onInput={(event) => setNote((event.currentTarget as HTMLTextAreaElement).value)} />
        <span id={`note-${alert.id}-count`} class="hint">{t(M.securityNoteCount, { count: fmt.number(note.length), max: fmt.number(MAX_NOTE_LENGTH) })}</span>
      </div>
      {error && <ErrorNotice error={error} />}
      <div class="form-actions">
        <button type="submit" class="button primary" disabled={busy}>{busy ? t(M.commonSaving) : t(M.securityAcknowledgeSubmit)}</button>
        <button type="button" class="button" onClick={onCancel}>{t(M.commonCancel)}</button>
      </div>
    </form>
  );
}
