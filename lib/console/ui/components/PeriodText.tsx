import type { Period } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { Time } from './Time';
import { M } from '../i18n/keys';

/** "From … to …" of the period a report covers. */
export function PeriodText({ period }: { period: Period | undefined }) {
  const { t } = useI18n();
  if (!period) return null;
  return <>{t(M.periodFrom)} <Time iso={period.startDate} /> {t(M.periodToLower)} <Time iso={period.endDate} /></>;
}
