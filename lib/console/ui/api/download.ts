import type { ApiClient, QueryValues } from './client';

/**
 * Fetches a file from a report route (with the bearer header, which a plain link could not send)
 * and hands it to the browser as a download under `fileName`.
 */
export async function downloadFile(api: ApiClient, path: string, query: QueryValues | URLSearchParams, fileName: string): Promise<number> {
  const response = await api.open(path, query, { accept: 'text/csv' });
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Revoked once the browser has had time to start saving it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return blob.size;
}
