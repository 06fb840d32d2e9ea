import type { ComponentChildren } from 'preact';
import type { ApiFailure } from '../api/client';
import { useI18n } from '../i18n/i18n';
import { M } from '../i18n/keys';

/** A polite live region: loading and progress messages are announced without taking focus. */
export function Status({ children, id }: { children?: ComponentChildren; id?: string }) {
  return <p class="status" role="status" aria-live="polite" id={id}>{children}</p>;
}

/** A refusal or failure, in words: a 403 says the role may not see this, never a blank page. */
export function ErrorNotice({ error, context }: { error: ApiFailure; context?: string }) {
  const { t } = useI18n();
  const heading = error.status === 403 ? t(M.errorForbidden) : error.status === 401 ? t(M.errorUnauthenticated)
    : error.status === 429 ? t(M.errorRateLimited) : error.status === 0 ? t(M.errorNetwork) : t(M.errorFailed);
  return (
    <div class="notice notice-error" role="alert">
      <p class="notice-title">{context ? `${context}: ${heading}` : heading}</p>
      <p>{error.message}</p>
      {error.code.startsWith('ERR_AT_') && <p class="muted small"><code>{error.code}</code>{error.param ? ` · ${error.param}` : ''}</p>}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
