import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiFailure, createApiClient } from './api/client';
import { storedToken, storeToken } from './api/token';
import type { ConsoleSession } from './api/types';
import type { ConsoleConfig } from './config';
import { ConsoleContext, useConsole } from './context';
import { createI18n, I18nContext, initialLanguage, rememberLanguage, useI18n, type Language } from './i18n/i18n';
import { createNavigation, NavigationContext, useNavigation } from './routing/navigation';
import { defaultView, parseRoute, viewAllowed } from './routing/routes';
import { Shell, viewLabel } from './components/Shell';
import { ViewRoot } from './components/ViewRoot';
import { ErrorNotice, Status } from './components/Notice';
import { SignIn, SignInFirst } from './SignIn';
import { ViewSwitch } from './views/ViewSwitch';
import { asFailure } from './hooks/useLoad';
import { M } from './i18n/keys';

type AuthState =
  | { kind: 'checking' }
  | { kind: 'signedIn'; session: ConsoleSession }
  | { kind: 'signedOut'; message: string | null }
  | { kind: 'failed'; error: ApiFailure };

/**
 * The console: asks who the caller is, then shows the views their access allows. In bearer mode a
 * refused token (401 on any call) brings the sign-in form back.
 */
export function App({ config }: { config: ConsoleConfig }) {
  const [lang, setLang] = useState<Language>(initialLanguage);
  const i18n = useMemo(() => createI18n(lang, (next) => { rememberLanguage(next); setLang(next); }), [lang]);
  useEffect(() => { document.documentElement.lang = lang; }, [lang]);

  const [auth, setAuth] = useState<AuthState>({ kind: 'checking' });
  const [route, setRoute] = useState(() => parseRoute(config.base, location, history.state));
  const readLocation = useCallback(() => setRoute(parseRoute(config.base, location, history.state)), [config.base]);
  useEffect(() => {
    window.addEventListener('popstate', readLocation);
    return () => window.removeEventListener('popstate', readLocation);
  }, [readLocation]);

  const api = useMemo(() => createApiClient(config, (failure) => {
    if (config.authMode === 'bearer') storeToken(null);
    setAuth({ kind: 'signedOut', message: failure.message });
  }), [config]);

  const checkSession = useCallback(async () => {
    if (config.authMode === 'bearer' && !storedToken()) {
      setAuth({ kind: 'signedOut', message: null });
      return;
    }
    setAuth({ kind: 'checking' });
    try {
      const { data } = await api.get<{ data: ConsoleSession }>('/console/session');
      setAuth({ kind: 'signedIn', session: data });
    } catch (error) {
      const failure = asFailure(error);
      // A 401 has already signed out (the client's callback) with the route's message.
      if (failure.status !== 401) setAuth({ kind: 'failed', error: failure });
    }
  }, [api, config.authMode]);
  useEffect(() => { void checkSession(); }, [checkSession]);

  const signIn = (token: string) => {
    storeToken(token);
    void checkSession();
  };
  const signOut = () => {
    storeToken(null);
    setAuth({ kind: 'signedOut', message: null });
  };

  const navigation = useMemo(() => createNavigation(config.base, route, readLocation), [config.base, route, readLocation]);
  const context = useMemo(() => (auth.kind === 'signedIn' ? { api, session: auth.session, config } : null), [api, auth, config]);

  return (
    <I18nContext.Provider value={i18n}>
      <NavigationContext.Provider value={navigation}>
        {auth.kind === 'checking' && <Checking />}
        {auth.kind === 'failed' && <Failed error={auth.error} onRetry={() => void checkSession()} />}
        {auth.kind === 'signedOut' && (config.authMode === 'bearer'
          ? <SignIn message={auth.message} onSubmit={signIn} />
          : <SignInFirst message={auth.message} />)}
        {context !== null && (
          <ConsoleContext.Provider value={context}>
            <SignedIn onSignOut={config.authMode === 'bearer' ? signOut : undefined} />
          </ConsoleContext.Provider>
        )}
      </NavigationContext.Provider>
    </I18nContext.Provider>
  );
}

function SignedIn({ onSignOut }: { onSignOut: (() => void) | undefined }) {
  const { session } = useConsole();
  const { route } = useNavigation();
  const view = route.view ?? defaultView(session.access);
  const { t } = useI18n();
  // The tab (and history) names the view.
  useEffect(() => { document.title = `${t(viewLabel(view))} · ${t(M.appTitle)}`; }, [view, t]);
  const first = useRef(true);
  // After a navigation to another view, focus its heading so keyboard and screen reader users start there.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.querySelector<HTMLElement>('#content h1')?.focus();
    window.scrollTo(0, 0);
  }, [view]);
  return (
    <Shell current={view} onSignOut={onSignOut}>
      {route.unknown ? <NotFound /> : viewAllowed(view, session.access) ? <ViewSwitch view={view} /> : <NotAllowed />}
    </Shell>
  );
}

function Checking() {
  const { t } = useI18n();
  return (
    <ViewRoot view="loading" ready={false} title={t(M.appTitle)}>
      <Status>{t(M.commonLoading)}</Status>
    </ViewRoot>
  );
}

function Failed({ error, onRetry }: { error: ApiFailure; onRetry: () => void }) {
  const { t } = useI18n();
  return (
    <ViewRoot view="loading" ready title={t(M.appTitle)}>
      <ErrorNotice error={error} />
      <button type="button" class="button" onClick={onRetry}>{t(M.commonRetry)}</button>
    </ViewRoot>
  );
}

function NotFound() {
  const { t } = useI18n();
  return <ViewRoot view="not-found" ready title={t(M.appNotFound)}><p>{t(M.appNotFoundText)}</p></ViewRoot>;
}

function NotAllowed() {
  const { t } = useI18n();
  const { route } = useNavigation();
  return (
    <ViewRoot view={route.view ?? 'not-found'} ready title={t(M.appNotAllowed)}>
      <div class="notice notice-error" role="alert"><p>{t(M.appNotAllowedText)}</p></div>
    </ViewRoot>
  );
}
