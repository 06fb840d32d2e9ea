import type { ComponentChildren } from 'preact';
import { useConsole } from '../context';
import { LANGUAGE_NAMES, LANGUAGES, useI18n, type Language, type MessageKey } from '../i18n/i18n';
import { Link } from '../routing/navigation';
import { VIEWS, viewAllowed, type ViewName } from '../routing/routes';
import { M } from '../i18n/keys';

const VIEW_LABELS: Record<ViewName, MessageKey> = {
  overview: M.navOverview,
  explorer: M.navExplorer,
  timeline: M.navTimeline,
  sessions: M.navSessions,
  security: M.navSecurity,
  integrity: M.navIntegrity,
  compliance: M.navCompliance,
  me: M.navMe,
};

export function viewLabel(view: ViewName): MessageKey {
  return VIEW_LABELS[view];
}

/** Skip link, header (who is signed in, language, sign out) and the navigation the caller's access allows. */
export function Shell({ current, onSignOut, children }: { current: ViewName; onSignOut?: () => void; children: ComponentChildren }) {
  const { session } = useConsole();
  const { t } = useI18n();
  const views = VIEWS.filter((view) => viewAllowed(view, session.access));
  return (
    <div class="shell">
      <SkipLink />
      <header class="top no-print">
        <div class="brand">{t(M.appTitle)}</div>
        <dl class="who" aria-label={t(M.headerSignedInAs)}>
          <div><dt>{t(M.headerUser)}</dt><dd>{session.userId}</dd></div>
          <div><dt>{t(M.headerRole)}</dt><dd>{session.role}</dd></div>
          {session.tenantId !== null && <div><dt>{t(M.headerTenant)}</dt><dd>{session.tenantId}</dd></div>}
        </dl>
        <div class="top-actions">
          <LanguagePicker />
          {onSignOut && <button type="button" class="button" onClick={onSignOut}>{t(M.authSignOut)}</button>}
        </div>
      </header>
      <nav class="sections no-print" aria-label={t(M.navLabel)}>
        <ul>
          {views.map((view) => (
            <li key={view}>
              <Link view={view} class={view === current ? 'active' : undefined} aria-current={view === current ? 'page' : undefined}>{t(VIEW_LABELS[view])}</Link>
            </li>
          ))}
        </ul>
      </nav>
      {children}
    </div>
  );
}

export function SkipLink() {
  const { t } = useI18n();
  const onClick = (event: MouseEvent) => {
    // Focus the view's heading rather than changing the URL's hash: the app owns the URL.
    const heading = document.querySelector<HTMLElement>('#content h1');
    if (heading) {
      event.preventDefault();
      heading.focus();
      heading.scrollIntoView({ block: 'start' });
    }
  };
  return <a class="skip-link" href="#content" onClick={onClick}>{t(M.navSkip)}</a>;
}

export function LanguagePicker() {
  const { t, lang, setLang } = useI18n();
  return (
    <div class="language">
      <label for="language">{t(M.headerLanguage)}</label>
      <select id="language" value={lang} onChange={(event) => setLang((event.currentTarget as HTMLSelectElement).value as Language)}>
        {LANGUAGES.map((code) => <option key={code} value={code} lang={code}>{LANGUAGE_NAMES[code]}</option>)}
      </select>
    </div>
  );
}
