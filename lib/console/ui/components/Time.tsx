import { useI18n } from '../i18n/i18n';
import { utcTitle } from '../format/formatters';

/** A time in the viewer's zone, with the UTC time on hover and in `datetime`. */
export function Time({ iso }: { iso: string | null | undefined }) {
  const { fmt } = useI18n();
  if (!iso) return <span class="muted">—</span>;
  return <time dateTime={iso} title={utcTitle(iso)}>{fmt.dateTime(iso)}</time>;
}
