import type { ActivityRow } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { TableHead } from './TableHead';
import { Time } from './Time';
import { Missing, SeverityBadge, StatusBadge } from './values';
import { M } from '../i18n/keys';

interface ActivityTableProps {
  rows: ActivityRow[];
  caption: string;
  onOpen(id: string): void;
  /** The row whose details are open. */
  selectedId?: string | null;
  /** Rows that just arrived live, highlighted for a moment. */
  freshIds?: ReadonlySet<string>;
}

/** Activity rows, each focusable: a click or Enter opens its details. */
export function ActivityTable({ rows, caption, onOpen, selectedId, freshIds }: ActivityTableProps) {
  const { t, fmt } = useI18n();
  const onKeyDown = (event: KeyboardEvent, id: string) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      onOpen(id);
    }
  };
  return (
    <div class="table-scroll">
      <table class="data activities">
        <caption>{caption}</caption>
        <TableHead cols={[M.fieldStartTime, M.fieldUserId, M.fieldActivityType, M.fieldAction, M.tableRequest, M.fieldStatusCode, [M.fieldDuration, 'num'], M.fieldIpAddress, M.fieldSeverity]} />
        <tbody>
          {rows.map((row) => (
            <tr
              key={row.id}
              data-activity-id={row.id}
              tabIndex={0}
              class={`clickable${row.id === selectedId ? ' selected' : ''}${freshIds?.has(row.id) ? ' fresh' : ''}${row.success ? '' : ' failed'}`}
              onClick={() => onOpen(row.id)}
              onKeyDown={(event) => onKeyDown(event, row.id)}
            >
              <td class="nowrap"><Time iso={row.startTime} /></td>
              <td>{row.userId ?? <Missing />}</td>
              <td><span class="type">{row.activityType}</span></td>
              <td>{row.action ?? <Missing />}</td>
              <td class="request">{row.method || row.path ? <><span class="method">{row.method ?? ''}</span> {row.path ?? ''}</> : row.entityType ? `${row.entityType}${row.entityId ? ` ${row.entityId}` : ''}` : <Missing />}</td>
              <td><StatusBadge success={row.success} statusCode={row.statusCode} /></td>
              <td class="num nowrap">{row.duration === null ? <Missing /> : fmt.duration(row.duration)}</td>
              <td class="mono">{row.ipAddress ?? <Missing />}</td>
              <td>{row.severity ? <SeverityBadge severity={row.severity} /> : row.riskScore !== null ? fmt.decimal(row.riskScore, 2) : <Missing />}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
