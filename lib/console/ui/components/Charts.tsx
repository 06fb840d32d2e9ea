import type { ComponentChildren } from 'preact';
import { useI18n } from '../i18n/i18n';
import { M } from '../i18n/keys';

export interface BarItem {
  /** The group's name as text (the bar's title and the table cell). */
  label: string;
  /** What the label cell shows, when more than the text (a link). */
  cell?: ComponentChildren;
  count: number;
}

const BAR_WIDTH = 160;
const BAR_HEIGHT = 12;

/**
 * A ranked breakdown as a table whose last column draws each count as an SVG bar: the numbers
 * stay readable as text, the bars (each with its own <title>) show the proportions.
 */
export function BarTable({ caption, labelHeader, items, empty, hideCaption }: { caption: string; labelHeader: string; items: BarItem[]; empty?: string; hideCaption?: boolean }) {
  const { t, fmt } = useI18n();
  const max = Math.max(1, ...items.map((item) => item.count));
  return (
    <table class="data bar-table">
      <caption class={hideCaption ? 'visually-hidden' : undefined}>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{labelHeader}</th>
          <th scope="col" class="num">{t(M.commonCount)}</th>
          <th scope="col" class="bar-col"><span class="visually-hidden">{t(M.chartShare)}</span></th>
        </tr>
      </thead>
      <tbody>
        {items.length === 0 && <tr><td colSpan={3} class="muted">{empty ?? t(M.commonNone)}</td></tr>}
        {items.map((item, index) => (
          <tr key={`${index}:${item.label}`}>
            <th scope="row" class="label-cell">{item.cell ?? item.label}</th>
            <td class="num">{fmt.number(item.count)}</td>
            <td class="bar-col">
              <svg class="bar" width={BAR_WIDTH} height={BAR_HEIGHT} viewBox={`0 0 ${BAR_WIDTH} ${BAR_HEIGHT}`} preserveAspectRatio="none" aria-hidden="true" focusable="false">
                <rect class="bar-track" x={0} y={0} width={BAR_WIDTH} height={BAR_HEIGHT} rx={2} />
                <rect class="bar-fill" x={0} y={0} width={Math.max(item.count > 0 ? 2 : 0, (item.count / max) * BAR_WIDTH)} height={BAR_HEIGHT} rx={2}>
                  <title>{`${item.label}: ${fmt.number(item.count)}`}</title>
                </rect>
              </svg>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const HOUR_BAR = 28;
const HOUR_GAP = 8;
const CHART_HEIGHT = 120;
const AXIS = 18;

/**
 * Activities per hour of the day (UTC, as /stats counts them) as 24 vertical SVG bars, each with a
 * <title>, and the same 24 numbers in a table below it. `caption` names both (the heading above is the caller's).
 */
export function HourChart({ counts, caption }: { counts: Array<{ hour: number; count: number }>; caption: string }) {
  const { t, fmt } = useI18n();
  const byHour = Array.from({ length: 24 }, (_, hour) => counts.find((c) => c.hour === hour)?.count ?? 0);
  const max = Math.max(1, ...byHour);
  const width = 24 * (HOUR_BAR + HOUR_GAP);
  const hourLabel = (hour: number) => `${String(hour).padStart(2, '0')}:00`;
  return (
    <figure class="hour-chart">
      <svg class="hours" viewBox={`0 0 ${width} ${CHART_HEIGHT + AXIS}`} width={width} height={CHART_HEIGHT + AXIS} role="img" aria-label={caption}>
        <line class="axis" x1={0} y1={CHART_HEIGHT + 0.5} x2={width} y2={CHART_HEIGHT + 0.5} />
        {byHour.map((count, hour) => {
          const height = count === 0 ? 0 : Math.max(2, (count / max) * (CHART_HEIGHT - 4));
          const x = hour * (HOUR_BAR + HOUR_GAP) + HOUR_GAP / 2;
          const title = t(M.chartHourBar, { from: hourLabel(hour), to: `${String(hour).padStart(2, '0')}:59`, count: fmt.number(count) });
          return (
            <g key={hour}>
              <rect class="bar-fill" x={x} y={CHART_HEIGHT - height} width={HOUR_BAR} height={height}>
                <title>{title}</title>
              </rect>
              <rect class="bar-hit" x={x} y={0} width={HOUR_BAR} height={CHART_HEIGHT}>
                <title>{title}</title>
              </rect>
              {hour % 3 === 0 && <text class="tick" x={x + HOUR_BAR / 2} y={CHART_HEIGHT + AXIS - 4}>{String(hour).padStart(2, '0')}</text>}
            </g>
          );
        })}
      </svg>
      <table class="data hour-table">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{t(M.chartHourUtc)}</th>
            {byHour.map((_, hour) => <th scope="col" class="num" key={hour}>{String(hour).padStart(2, '0')}</th>)}
          </tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row">{t(M.commonCount)}</th>
            {byHour.map((count, hour) => <td class="num" key={hour}>{fmt.number(count)}</td>)}
          </tr>
        </tbody>
      </table>
    </figure>
  );
}
