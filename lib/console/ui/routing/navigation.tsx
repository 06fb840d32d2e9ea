import { createContext, type ComponentChildren } from 'preact';
import { useContext } from 'preact/hooks';
import { hrefOf, type Route, type RouteParams, type ViewName } from './routes';

export interface NavigateOptions {
  replace?: boolean;
  /** Kept as the entry's history.state (Route.state). */
  state?: unknown;
}

export interface Navigation {
  route: Route;
  href(view: ViewName, params?: RouteParams): string;
  navigate(view: ViewName, params?: RouteParams, options?: NavigateOptions): void;
}

export const NavigationContext = createContext<Navigation | null>(null);

export function useNavigation(): Navigation {
  const navigation = useContext(NavigationContext);
  if (navigation === null) throw new Error('useNavigation outside of NavigationContext');
  return navigation;
}

/** The History API navigation of the app: pushState (or replaceState), then `onChange` re-reads the location. */
export function createNavigation(base: string, route: Route, onChange: () => void): Navigation {
  return {
    route,
    href: (view, params) => hrefOf(base, view, params),
    navigate(view, params, options = {}) {
      const url = hrefOf(base, view, params);
      if (options.replace) history.replaceState(options.state ?? null, '', url);
      else history.pushState(options.state ?? null, '', url);
      onChange();
    },
  };
}

/** A plain left click without modifiers: the app navigates itself; anything else (new tab, download) is the browser's. */
export function isPlainClick(event: MouseEvent): boolean {
  return event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey && !event.defaultPrevented;
}

interface LinkProps {
  view: ViewName;
  params?: RouteParams;
  class?: string;
  children: ComponentChildren;
  'aria-current'?: 'page';
  title?: string;
}

/** A real link (middle click and "open in new tab" work) that navigates inside the app on a plain click. */
export function Link({ view, params, children, ...rest }: LinkProps) {
  const navigation = useNavigation();
  const href = navigation.href(view, params);
  const onClick = (event: MouseEvent) => {
    if (!isPlainClick(event)) return;
    event.preventDefault();
    navigation.navigate(view, params);
  };
  return <a href={href} onClick={onClick} {...rest}>{children}</a>;
}
