import type { ComponentChildren } from 'preact';
import type { DeviceInfo, GeoLocation } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { M } from '../i18n/keys';

/** Small renderings of row values shared by the tables and the detail panel; all text, never markup. */

export function Missing() {
  return <span class="muted">—</span>;
}

export function text(value: unknown): ComponentChildren {
  if (value === null || value === undefined || value === '') return <Missing />;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function deviceText(device: DeviceInfo | null | undefined): string {
  if (!device) return '';
  return [device.type, device.vendor, device.model].filter((part) => part !== null && part !== undefined && part !== '').join(' · ');
}

export function locationText(location: GeoLocation | null | undefined): string {
  if (!location) return '';
  return [location.city, location.region, location.country].filter((part) => typeof part === 'string' && part !== '').join(', ');
}

/** Any JSON value pretty-printed, as text in a <pre>. */
export function Json({ value, label }: { value: unknown; label?: string }) {
  return <pre class="json" tabIndex={0} aria-label={label}>{JSON.stringify(value, null, 2) ?? 'null'}</pre>;
}

/** A short display of a JSON value in a table cell. */
export function inlineJson(value: unknown): string {
  if (value === undefined) return '';
  const json = JSON.stringify(value);
  return json === undefined ? '' : json;
}

export function StatusBadge({ success, statusCode }: { success: boolean; statusCode: number | null }) {
  const { t } = useI18n();
  const label = statusCode === null ? (success ? t(M.commonSucceeded) : t(M.commonFailed)) : String(statusCode);
  return <span class={`badge ${success ? 'badge-ok' : 'badge-fail'}`} title={success ? t(M.commonSucceeded) : t(M.commonFailed)}>{label}</span>;
}

export function SeverityBadge({ severity }: { severity: string | null | undefined }) {
  if (!severity) return <Missing />;
  return <span class={`badge severity-${severity}`}>{severity}</span>;
}
