import type { ComponentChildren } from 'preact';
import type { ViewName } from '../routing/routes';

interface ViewRootProps {
  view: ViewName | 'sign-in' | 'not-found' | 'loading';
  /** The view's data is rendered (tests and the benchmark wait for this). */
  ready: boolean;
  title: string;
  /** Beside the heading: the view's main actions. */
  actions?: ComponentChildren;
  subtitle?: ComponentChildren;
  children?: ComponentChildren;
}

/** The one <main> of a view, with its one h1; focus lands on the h1 after a navigation. */
export function ViewRoot({ view, ready, title, actions, subtitle, children }: ViewRootProps) {
  return (
    <main id="content" class={`view view-${view}`} data-view={view} data-ready={ready ? 'true' : 'false'} aria-busy={ready ? 'false' : 'true'}>
      <div class="view-head">
        <div>
          <h1 tabIndex={-1}>{title}</h1>
          {subtitle && <p class="subtitle">{subtitle}</p>}
        </div>
        {actions && <div class="view-actions no-print">{actions}</div>}
      </div>
      {children}
    </main>
  );
}
