import { useI18n, type MessageKey } from '../i18n/i18n';

/** A column: its heading's text key, right-aligned (`num`) or read by screen readers only (`hidden`). */
export type Column = MessageKey | [MessageKey, 'num' | 'hidden'];

/** A table's header row: one `<th scope="col">` per column. */
export function TableHead({ cols }: { cols: Array<Column | false> }) {
  const { t } = useI18n();
  return (
    <thead>
      <tr>
        {cols.map((col, index) => {
          if (col === false) return null;
          const [key, kind] = Array.isArray(col) ? col : [col, undefined];
          return kind === 'hidden'
            ? <th scope="col" key={index}><span class="visually-hidden">{t(key)}</span></th>
            : <th scope="col" key={index} class={kind}>{t(key)}</th>;
        })}
      </tr>
    </thead>
  );
}
