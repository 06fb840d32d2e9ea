import { useI18n } from '../i18n/i18n';
import { M } from '../i18n/keys';

interface OffsetPagerProps {
  offset: number;
  limit: number;
  total: number;
  shown: number;
  label: string;
  onPage(offset: number): void;
}

/** Previous / Next over an offset-paged list, with which rows of how many are shown. */
export function OffsetPager({ offset, limit, total, shown, label, onPage }: OffsetPagerProps) {
  const { t, fmt } = useI18n();
  // One page holds everything: nothing to page through.
  if (total <= limit && offset === 0) return null;
  return (
    <nav class="pager no-print" aria-label={label}>
      <span class="pager-range">{t(M.pagerRange, { from: fmt.number(shown === 0 ? 0 : offset + 1), to: fmt.number(offset + shown), total: fmt.number(total) })}</span>
      <button type="button" class="button" disabled={offset === 0} onClick={() => onPage(Math.max(0, offset - limit))}>{t(M.pagerPrevious)}</button>
      <button type="button" class="button" disabled={offset + shown >= total} onClick={() => onPage(offset + limit)}>{t(M.pagerNext)}</button>
    </nav>
  );
}
