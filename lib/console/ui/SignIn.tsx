import { useState } from 'preact/hooks';
import { useI18n } from './i18n/i18n';
import { SkipLink, LanguagePicker } from './components/Shell';
import { ViewRoot } from './components/ViewRoot';
import { M } from './i18n/keys';

interface SignInProps {
  /** Why the last attempt or call was refused. */
  message: string | null;
  onSubmit(token: string): void;
}

/** Bearer mode: the token is pasted here and kept for this tab only. */
export function SignIn({ message, onSubmit }: SignInProps) {
  const { t } = useI18n();
  const [token, setToken] = useState('');
  const submit = (event: Event) => {
    event.preventDefault();
    const trimmed = token.trim();
    if (trimmed !== '') onSubmit(trimmed.replace(/^Bearer\s+/i, ''));
  };
  return (
    <div class="shell shell-plain">
      <SkipLink />
      <header class="top"><div class="brand">{t(M.appTitle)}</div><div class="top-actions"><LanguagePicker /></div></header>
      <ViewRoot view="sign-in" ready title={t(M.authTitle)}>
        <form class="card sign-in" onSubmit={submit}>
          <p>{t(M.authIntro)}</p>
          {message && <div class="notice notice-error" role="alert"><p class="notice-title">{t(M.authRefused)}</p><p>{message}</p></div>}
          <div class="field">
            <label for="token">{t(M.authToken)}</label>
            <textarea id="token" name="token" rows={4} spellcheck={false} autoComplete="off" required value={token}
              onInput={(event) => setToken((event.currentTarget as HTMLTextAreaElement).value)} />
          </div>
          <p class="muted small">{t(M.authTokenHint)}</p>
          <button type="submit" class="button primary">{t(M.authSignIn)}</button>
        </form>
      </ViewRoot>
    </div>
  );
}

/** Cookie mode without a signed-in user: the host app's own sign-in comes first. */
export function SignInFirst({ message }: { message: string | null }) {
  const { t } = useI18n();
  return (
    <div class="shell shell-plain">
      <SkipLink />
      <header class="top"><div class="brand">{t(M.appTitle)}</div><div class="top-actions"><LanguagePicker /></div></header>
      <ViewRoot view="sign-in" ready title={t(M.authTitle)}>
        <div class="card">
          <p class="lead">{t(M.authSignInFirst)}</p>
          {message && <p class="muted">{message}</p>}
        </div>
      </ViewRoot>
    </div>
  );
}
