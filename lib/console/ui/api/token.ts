/**
 * The bearer token of this tab: sessionStorage, so it leaves with the tab and is never shared
 * with other tabs or kept on disk after the browser closes.
 */
const TOKEN_KEY = 'activityTrackingToken';

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage disabled: the token then lasts as long as the page.
  }
}
