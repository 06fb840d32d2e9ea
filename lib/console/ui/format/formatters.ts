/** Numbers and times in the viewer's language and time zone; every formatter is built once per language. */
export interface Formatters {
  number(value: number): string;
  decimal(value: number, digits?: number): string;
  percent(rate: number): string;
  dateTime(iso: string): string;
  /** Milliseconds as ms, s or min. */
  duration(ms: number): string;
  bytes(count: number): string;
}

export function createFormatters(lang: string): Formatters {
  const integer = new Intl.NumberFormat(lang, { maximumFractionDigits: 0 });
  const decimals = new Map<number, Intl.NumberFormat>();
  const percent = new Intl.NumberFormat(lang, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const dateTime = new Intl.DateTimeFormat(lang, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const decimal = (value: number, digits = 1): string => {
    let format = decimals.get(digits);
    if (format === undefined) decimals.set(digits, format = new Intl.NumberFormat(lang, { maximumFractionDigits: digits }));
    return format.format(value);
  };
  return {
    number: (value) => integer.format(value),
    decimal,
    percent: (rate) => percent.format(rate),
    dateTime(iso) {
      const date = new Date(iso);
      return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
    },
    duration(ms) {
      if (ms < 1000) return `${decimal(ms, ms < 10 ? 1 : 0)} ms`;
      if (ms < 60_000) return `${decimal(ms / 1000, 2)} s`;
      return `${decimal(ms / 60_000, 1)} min`;
    },
    bytes(count) {
      if (count < 1024) return `${integer.format(count)} B`;
      if (count < 1024 * 1024) return `${decimal(count / 1024, 1)} KB`;
      return `${decimal(count / (1024 * 1024), 1)} MB`;
    },
  };
}

/** "UTC: 2026-12-07 10:00:00Z": the hover text of every shown time. */
export function utcTitle(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `UTC: ${date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')}`;
}

/** The value of a datetime-local input for an ISO time, in the viewer's time zone ('' for none). */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** A datetime-local value (local time) as ISO 8601 UTC; undefined for an empty or invalid one. */
export function fromLocalInput(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
