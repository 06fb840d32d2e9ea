import { withoutTrailingSlashes } from './routing/slashes';
/** What the HTML shell tells the app: where the report routes are mounted and how callers sign in. */
export type AuthMode = 'cookie' | 'bearer';

export interface ConsoleConfig {
  /** The mount path of the report routes, without a trailing slash; '' when mounted at the root. */
  base: string;
  authMode: AuthMode;
}

export function readConfig(root: HTMLElement): ConsoleConfig {
  const base = withoutTrailingSlashes(root.dataset['base'] ?? '');
  return { base, authMode: root.dataset['auth'] === 'bearer' ? 'bearer' : 'cookie' };
}
