import type { ConsoleConfig } from '../config';
import { storedToken } from './token';

/** Codes the console itself gives failures that never reached the report routes. */
export type LocalErrorCode = 'ERR_AT_NETWORK' | 'ERR_AT_BAD_RESPONSE';

/** A report route's refusal (`{ error: { code, message, param? } }`), or a failure to reach it. */
export class ApiFailure extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly param?: string) {
    super(message);
    this.name = 'ApiFailure';
  }
}

export type QueryValues = Record<string, string | number | boolean | null | undefined>;

/** `?a=1&b=2` of the values that are set; '' when none is. */
export function queryString(values: QueryValues | URLSearchParams): string {
  const params = values instanceof URLSearchParams ? values : new URLSearchParams();
  if (!(values instanceof URLSearchParams)) {
    for (const [key, value] of Object.entries(values)) {
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
    }
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

export interface OpenOptions {
  signal?: AbortSignal;
  accept?: string;
  headers?: Record<string, string>;
}

export interface ApiClient {
  readonly base: string;
  /** GET `${base}${path}` and its parsed JSON body. */
  get<T>(path: string, query?: QueryValues | URLSearchParams, signal?: AbortSignal): Promise<T>;
  /** POST a JSON body with the CSRF token. */
  post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T>;
  /** The raw response of a GET (streams, downloads); refusals are thrown as ApiFailure. */
  open(path: string, query?: QueryValues | URLSearchParams, options?: OpenOptions): Promise<Response>;
}

/**
 * Every call is same-origin with the host app's cookies, plus the tab's bearer token in bearer
 * mode. `onUnauthenticated` hears of any 401 so the app can ask for a new sign-in.
 */
export function createApiClient(config: ConsoleConfig, onUnauthenticated: (failure: ApiFailure) => void): ApiClient {
  const headers = (extra: Record<string, string>): Record<string, string> => {
    const all: Record<string, string> = { ...extra };
    if (config.authMode === 'bearer') {
      const token = storedToken();
      if (token) all['Authorization'] = `Bearer ${token}`;
    }
    return all;
  };

  const send = async (path: string, init: RequestInit): Promise<Response> => {
    let response: Response;
    try {
      response = await fetch(`${config.base}${path}`, { credentials: 'same-origin', cache: 'no-store', ...init });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error;
      throw new ApiFailure(0, 'ERR_AT_NETWORK', error instanceof Error ? error.message : String(error));
    }
    if (!response.ok) {
      const failure = await failureOf(response);
      if (response.status === 401) onUnauthenticated(failure);
      throw failure;
    }
    return response;
  };

  const json = async <T>(response: Response): Promise<T> => {
    try {
      return (await response.json()) as T;
    } catch {
      throw new ApiFailure(response.status, 'ERR_AT_BAD_RESPONSE', `HTTP ${response.status}`);
    }
  };

  return {
    base: config.base,
    async get<T>(path: string, query: QueryValues | URLSearchParams = {}, signal?: AbortSignal): Promise<T> {
      const init: RequestInit = { headers: headers({ Accept: 'application/json' }) };
      if (signal) init.signal = signal;
      return json<T>(await send(`${path}${queryString(query)}`, init));
    },
    async post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
      // Same-origin fetches carry Sec-Fetch-Site: same-origin, which the server's cross-origin check admits.
      const init: RequestInit = { method: 'POST', headers: headers({ Accept: 'application/json', 'Content-Type': 'application/json' }), body: JSON.stringify(body) };
      if (signal) init.signal = signal;
      return json<T>(await send(path, init));
    },
    open(path: string, query: QueryValues | URLSearchParams = {}, options: OpenOptions = {}): Promise<Response> {
      const init: RequestInit = { headers: headers({ Accept: options.accept ?? '*/*', ...options.headers }) };
      if (options.signal) init.signal = options.signal;
      return send(`${path}${queryString(query)}`, init);
    },
  };
}

/** The route's own error body when it sent one; otherwise the status line. */
async function failureOf(response: Response): Promise<ApiFailure> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown; param?: unknown } };
    const error = body.error;
    if (error && typeof error.message === 'string') {
      return new ApiFailure(response.status, typeof error.code === 'string' ? error.code : `HTTP_${response.status}`, error.message, typeof error.param === 'string' ? error.param : undefined);
    }
  } catch {
    // Not JSON: a proxy's or the host app's own error page.
  }
  return new ApiFailure(response.status, `HTTP_${response.status}`, `HTTP ${response.status} ${response.statusText}`.trim());
}

/** Segments of a route path, each encoded on its own so a slash in an id stays inside its segment. */
export function pathOf(...segments: string[]): string {
  return segments.map((segment) => `/${encodeURIComponent(segment)}`).join('');
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
