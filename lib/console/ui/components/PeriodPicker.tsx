import { useId } from 'preact/hooks';
import { useI18n } from '../i18n/i18n';
import { fromLocalInput, toLocalInput } from '../format/formatters';
import type { Period } from '../api/types';
import { M } from '../i18n/keys';

/** Quick periods, in hours back from now. */
const PRESETS = [
  { hours: 1, key: M.periodLastHour },
  { hours: 24, key: M.periodLast24h },
  { hours: 24 * 7, key: M.periodLast7d },
  { hours: 24 * 30, key: M.periodLast30d },
] as const;

interface PeriodPickerProps {
  /** What the inputs show: the period asked for, else the one the report covered. */
  period: Partial<Period> | undefined;
  onChange(period: { startDate?: string | undefined; endDate?: string | undefined }): void;
  disabled?: boolean;
}

/**
 * From / To in the viewer's local time (datetime-local), sent as ISO 8601 UTC; quick buttons for
 * the usual periods. Remounted (key) when the shown period changes, so the inputs follow the URL.
 */
export function PeriodPicker({ period, onChange, disabled }: PeriodPickerProps) {
  const { t } = useI18n();
  const id = useId();
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    onChange({ startDate: fromLocalInput(form.get('startDate') as string | null), endDate: fromLocalInput(form.get('endDate') as string | null) });
  };
  const preset = (hours: number) => {
    const end = new Date();
    onChange({ startDate: new Date(end.getTime() - hours * 3_600_000).toISOString(), endDate: end.toISOString() });
  };
  return (
    <form class="period no-print" onSubmit={submit} key={`${period?.startDate ?? ''}|${period?.endDate ?? ''}`} aria-label={t(M.periodLabel)}>
      <div class="field">
        <label for={`${id}-from`}>{t(M.periodFrom)}</label>
        <input id={`${id}-from`} name="startDate" type="datetime-local" step={1} defaultValue={toLocalInput(period?.startDate)} />
      </div>
      <div class="field">
        <label for={`${id}-to`}>{t(M.periodTo)}</label>
        <input id={`${id}-to`} name="endDate" type="datetime-local" step={1} defaultValue={toLocalInput(period?.endDate)} />
      </div>
      <button type="submit" class="button primary" disabled={disabled}>{t(M.periodApply)}</button>
      <div class="presets" role="group" aria-label={t(M.periodQuick)}>
        {PRESETS.map((p) => <button type="button" class="button small" key={p.hours} onClick={() => preset(p.hours)} disabled={disabled}>{t(p.key)}</button>)}
      </div>
    </form>
  );
}

/** The period of a view's URL (startDate / endDate), when it names one. */
export function periodOfParams(params: URLSearchParams): Partial<Period> {
  const out: Partial<Period> = {};
  const start = params.get('startDate');
  const end = params.get('endDate');
  if (start) out.startDate = start;
  if (end) out.endDate = end;
  return out;
}
