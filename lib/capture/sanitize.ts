/**
 * Turns captured request data (bodies, headers, query strings, log text) into a
 * bounded, JSON-safe copy with secrets removed, so that the audit trail never
 * stores credentials and one huge or hostile payload cannot bloat it.
 */
import { types } from 'node:util';

export interface SanitizeLimits {
  /** deepest nesting kept; deeper values become '[depth limit]'. Default 6 */
  maxDepth: number;
  /** keys kept per object and items per array; the rest are dropped and counted. Default 100 */
  maxKeys: number;
  /** longest string kept, in characters; longer ones are cut and end with '…[+N chars]'. Default 1024 */
  maxStringLength: number;
  /** approximate serialized size budget (bytes of JSON) for the whole result. Default 16384 */
  maxTotalBytes: number;
}

export const DEFAULT_SANITIZE_LIMITS: SanitizeLimits = Object.freeze({
  maxDepth: 6,
  maxKeys: 100,
  maxStringLength: 1024,
  maxTotalBytes: 16384,
});

export const REDACTED = '[REDACTED]';

export interface Sanitizer {
  /** Returns a new, JSON-safe value; never mutates the input; never throws (cycles, getters that throw, BigInt, Buffers, Dates, Maps, class instances, functions, symbols all handled). */
  value(input: unknown): { value: unknown; truncated: boolean };
  /** Redacts secrets inside free text (a URL, a query string, a header value, a log message). */
  text(input: string): string;
  /** true when a key name is sensitive (case-insensitive, ignores -, _, spaces, dots) */
  isSensitiveKey(key: string): boolean;
}

export interface SanitizeOptions {
  extraSensitiveKeys?: readonly string[];
  limits?: Partial<SanitizeLimits>;
}

const CIRCULAR = '[circular]';
const DEPTH_LIMIT = '[depth limit]';
const SIZE_LIMIT = '[size limit]';
const UNREADABLE = '[unreadable]';
const MORE_KEYS = '…';
/** Walk result for values JSON leaves out (undefined, functions, symbols). */
const OMIT = Symbol('omit');

// Matched anywhere in the normalized key: none of these occur inside harmless
// field names. 'token' also hits tokenizer/max_tokens; we accept that, since
// missing an access_token is far worse than hiding a count.
// (clientsecret and cvv2 are covered by secret and cvv.)
const SENSITIVE_FRAGMENTS = [
  'password', 'passwd', 'pwd', 'passphrase', 'secret', 'token', 'apikey', 'authorization',
  'cookie', 'sessionid', 'privatekey', 'cardnumber', 'creditcard', 'ccnumber', 'cvv', 'cvc',
  'securitycode', 'cpf', 'cnpj', 'iban', 'mfacode',
];
// Short words that live inside ordinary words (author, spin, pineapple, panel,
// session_start) only count as the whole key.
const SENSITIVE_EXACT = new Set([
  'auth', 'session', 'sid', 'connectsid', 'phpsessid', 'pan', 'pin', 'otp', 'signature',
]);
// 'ssn' appears inside businessName/className/address_number once separators
// are stripped, so it must start or end a word of the original key.
const SSN_AT_WORD_EDGE = /(?:^|[^a-z])ssn|ssn(?:$|[^a-z])/;
const CAMEL_BOUNDARY = /([a-z0-9])([A-Z])/g;
const KEY_SEPARATORS = /[-_.\s]/g;
const KEY_CACHE_SIZE = 1000;
// Keys longer than this are rare and would pin large strings in the cache.
const MAX_CACHED_KEY_LENGTH = 256;

// A secret straddling the cut point must be recognised whole, so redaction
// looks this far past maxStringLength; beyond it, work would grow with input size.
const REDACT_MARGIN = 16 * 1024;

// Up to five segments: encrypted JWTs (JWE) have five.
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}/g;
// The credential is an RFC 7235 token68.
const AUTH_SCHEME = /\b(bearer|basic)(\s+)([A-Za-z0-9\-._~+/]+=*)/gi;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s/?#@:]*):[^\s/?#]*@/gi;
const JSON_PAIR = /"((?:[^"\\]|\\.)+)"(\s*:\s*)("(?:[^"\\]|\\.)*"|[^\s,}\]{["]+)/g;
const QUERY_PAIR = /(^|[?&;#\s])([^\s=&;?#]+)=("[^"]*"|'[^']*'|[^&;#\s]*)/g;
// At least 13 digits, optionally split by single spaces or dashes.
const DIGIT_RUN = /\d(?:[ -]?\d){12,}/g;
const BASIC_CREDENTIALS = /^[^\x00-\x1f:]*:[^\x00-\x1f]*$/;

const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

interface WalkState {
  used: number;
  full: boolean;
  truncated: boolean;
  /** objects on the current path; a shared (non-cyclic) reference is copied twice, like JSON */
  ancestors: Set<object>;
}

export function createSanitizer(options: SanitizeOptions = {}): Sanitizer {
  const limits = resolveLimits(options.limits);
  const fragments = [
    ...SENSITIVE_FRAGMENTS,
    // An empty extra key would match every key.
    ...(options.extraSensitiveKeys ?? []).map(normalizeKey).filter((k) => k.length > 0),
  ];
  const keyCache = new Map<string, boolean>();

  function isSensitiveKey(key: string): boolean {
    const cached = keyCache.get(key);
    if (cached !== undefined) return cached;
    const normalized = normalizeKey(key);
    const sensitive =
      SENSITIVE_EXACT.has(normalized) ||
      fragments.some((f) => normalized.includes(f)) ||
      SSN_AT_WORD_EDGE.test(key.replace(CAMEL_BOUNDARY, '$1 $2').toLowerCase());
    if (key.length <= MAX_CACHED_KEY_LENGTH) {
      // Clearing rather than refusing new entries keeps the cache useful when
      // an early burst of one-off keys filled it.
      if (keyCache.size >= KEY_CACHE_SIZE) keyCache.clear();
      keyCache.set(key, sensitive);
    }
    return sensitive;
  }

  function isSensitiveParam(rawKey: string): boolean {
    let key = rawKey.replace(/\+/g, ' ');
    try {
      key = decodeURIComponent(key);
    } catch {
      // malformed escapes: judge the key as written
    }
    return isSensitiveKey(key);
  }

  function redactSecrets(s: string): string {
    return s
      .replace(JWT, REDACTED)
      .replace(AUTH_SCHEME, (match, scheme: string, space: string, token: string) =>
        scheme.toLowerCase() === 'basic' && !isBasicCredentials(token) ? match : `${scheme}${space}${REDACTED}`)
      .replace(URL_USERINFO, `$1:${REDACTED}@`)
      .replace(JSON_PAIR, (match, key: string, colon: string) =>
        isSensitiveKey(key) ? `"${key}"${colon}"${REDACTED}"` : match)
      .replace(QUERY_PAIR, (match, lead: string, key: string) =>
        isSensitiveParam(key) ? `${lead}${key}=${REDACTED}` : match)
      .replace(DIGIT_RUN, redactCardsInRun);
  }

  /** Redact, then cut, then escape: escaping last means the cut can never split an escape sequence. */
  function cleanString(s: string): { text: string; cut: boolean } {
    const max = limits.maxStringLength;
    const head = s.length > max + REDACT_MARGIN ? s.slice(0, max + REDACT_MARGIN) : s;
    const redacted = redactSecrets(head);
    if (head === s && redacted.length <= max) return { text: escapeUnsafe(redacted), cut: false };
    let keep = Math.min(max, redacted.length);
    if (keep > 0 && isHighSurrogate(redacted.charCodeAt(keep - 1))) keep--;
    const dropped = redacted.length - keep + (s.length - head.length);
    return { text: `${escapeUnsafe(redacted.slice(0, keep))}…[+${dropped} chars]`, cut: true };
  }

  function charge(state: WalkState, cost: number): boolean {
    if (state.full || state.used + cost > limits.maxTotalBytes) {
      state.full = true;
      state.truncated = true;
      return false;
    }
    state.used += cost;
    return true;
  }

  /** Emits a primitive if it fits the byte budget, else the size marker. */
  function fit(state: WalkState, value: string | number | boolean | null): unknown {
    if (charge(state, jsonBytes(value))) return value;
    state.used += jsonBytes(SIZE_LIMIT);
    return SIZE_LIMIT;
  }

  /** Markers are always emitted (over budget if need be) so the reader knows something is missing. */
  function marker(state: WalkState, text: string): string {
    state.truncated = true;
    state.used += jsonBytes(text) + 1;
    return text;
  }

  function walk(input: unknown, depth: number, state: WalkState, allowToJSON = true): unknown {
    switch (typeof input) {
      case 'string': {
        const { text, cut } = cleanString(input);
        if (cut) state.truncated = true;
        return fit(state, text);
      }
      case 'number':
        if (!Number.isFinite(input)) return fit(state, null);
        return fit(state, isCardNumber(input) ? REDACTED : input);
      case 'bigint':
        // As a string it also gets card-number redaction.
        return walk(input.toString(), depth, state);
      case 'boolean':
        return fit(state, input);
      case 'undefined':
      case 'function':
      case 'symbol':
        return OMIT;
    }
    if (input === null) return fit(state, null);
    return walkObject(input as object, depth, state, allowToJSON);
  }

  function walkObject(obj: object, depth: number, state: WalkState, allowToJSON: boolean): unknown {
    try {
      if (state.ancestors.has(obj)) return fit(state, CIRCULAR);
      if (ArrayBuffer.isView(obj)) return fit(state, `[binary ${obj.byteLength} bytes]`);
      if (types.isAnyArrayBuffer(obj)) return fit(state, `[binary ${obj.byteLength} bytes]`);
      if (types.isDate(obj)) {
        const time = Date.prototype.getTime.call(obj);
        return fit(state, Number.isNaN(time) ? null : new Date(time).toISOString());
      }
      if (types.isBoxedPrimitive(obj)) return walk(obj.valueOf(), depth, state);
      const toJSON: unknown = allowToJSON ? (obj as { toJSON?: unknown }).toJSON : undefined;
      // Like JSON.stringify, toJSON is applied once; its result is not asked again.
      if (typeof toJSON === 'function') return walk(toJSON.call(obj, ''), depth, state, false);

      if (depth >= limits.maxDepth) {
        state.truncated = true;
        return fit(state, DEPTH_LIMIT);
      }
      state.ancestors.add(obj);
      try {
        return walkContainer(obj, depth, state);
      } finally {
        state.ancestors.delete(obj);
      }
    } catch {
      // toJSON, a Proxy trap or an exotic accessor threw.
      return fit(state, UNREADABLE);
    }
  }

  function walkContainer(obj: object, depth: number, state: WalkState): unknown {
    if (Array.isArray(obj)) {
      const items: unknown[] = obj;
      return walkList(items.length, (i) => items[i], depth, state);
    }
    if (types.isSet(obj)) {
      const items = firstOf((obj as Set<unknown>).values(), limits.maxKeys);
      return walkList((obj as Set<unknown>).size, (i) => items[i], depth, state);
    }
    if (types.isMap(obj)) {
      const entries = firstOf((obj as Map<unknown, unknown>).entries(), limits.maxKeys);
      const keys = entries.map(([key]) => mapKeyToString(key));
      return walkRecord(keys, (obj as Map<unknown, unknown>).size, (i) => entries[i]?.[1], depth, state);
    }
    const record = obj as Record<string, unknown>;
    let keys = Object.keys(record);
    // message and name are not own enumerable properties, yet they are the point of an Error.
    if (types.isNativeError(obj)) keys = ['name', 'message', ...keys.filter((k) => k !== 'name' && k !== 'message')];
    return walkRecord(keys, keys.length, (i) => record[keys[i] ?? ''], depth, state);
  }

  function walkList(total: number, read: (i: number) => unknown, depth: number, state: WalkState): unknown {
    if (!charge(state, 2)) return marker(state, SIZE_LIMIT);
    const out: unknown[] = [];
    const end = Math.min(total, limits.maxKeys);
    let i = 0;
    for (; i < end && !state.full; i++) {
      state.used += 1; // comma
      const item = readSafely(read, i, depth, state);
      out.push(item === OMIT ? null : item);
    }
    if (i < total) out.push(marker(state, `[+${total - i} more items]`));
    return out;
  }

  function walkRecord(
    keys: readonly string[],
    total: number,
    read: (i: number) => unknown,
    depth: number,
    state: WalkState,
  ): unknown {
    if (!charge(state, 2)) return marker(state, SIZE_LIMIT);
    const out: Record<string, unknown> = {};
    const end = Math.min(keys.length, limits.maxKeys);
    let i = 0;
    for (; i < end && !state.full; i++) {
      const rawKey = keys[i] ?? '';
      const key = cleanString(rawKey);
      if (key.cut) state.truncated = true;
      if (!charge(state, jsonBytes(key.text) + 2)) break;
      // A sensitive value is never read: no getter side effects, nothing to leak.
      const value = isSensitiveKey(rawKey) ? fit(state, REDACTED) : readSafely(read, i, depth, state);
      if (value !== OMIT) setOwn(out, key.text, value);
    }
    if (i < total) setOwn(out, MORE_KEYS, marker(state, `[+${total - i} more keys]`));
    return out;
  }

  function readSafely(read: (i: number) => unknown, i: number, depth: number, state: WalkState): unknown {
    let child: unknown;
    try {
      child = read(i);
    } catch {
      return fit(state, UNREADABLE); // a getter threw
    }
    return walk(child, depth + 1, state);
  }

  return {
    value(input) {
      const state: WalkState = { used: 0, full: false, truncated: false, ancestors: new Set() };
      try {
        const out = walk(input, 0, state);
        return { value: out === OMIT ? undefined : out, truncated: state.truncated };
      } catch {
        // Last resort (e.g. a stack overflow from an absurd maxDepth): the contract is to never throw.
        return { value: UNREADABLE, truncated: true };
      }
    },
    text: (input) => cleanString(input).text,
    isSensitiveKey,
  };
}

function resolveLimits(overrides: Partial<SanitizeLimits> = {}): SanitizeLimits {
  const pick = (name: keyof SanitizeLimits): number => {
    const v = overrides[name];
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : DEFAULT_SANITIZE_LIMITS[name];
  };
  return {
    maxDepth: pick('maxDepth'),
    maxKeys: pick('maxKeys'),
    maxStringLength: pick('maxStringLength'),
    maxTotalBytes: pick('maxTotalBytes'),
  };
}

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(KEY_SEPARATORS, '');
}

/** "Basic" is also an English word ("Basic plan"); real credentials decode to user:password. */
function isBasicCredentials(token: string): boolean {
  return BASIC_CREDENTIALS.test(Buffer.from(token, 'base64').toString('latin1'));
}

/**
 * A run may hold a card plus neighbouring numbers ("4111 1111 1111 1111 123"),
 * so every span of whole groups is tried, longest first.
 */
function redactCardsInRun(run: string): string {
  const groups = run.split(/[ -]/);
  const starts: number[] = [];
  let offset = 0;
  for (const g of groups) {
    starts.push(offset);
    offset += g.length + 1;
  }
  let out = '';
  let copiedUpTo = 0;
  for (let first = 0; first < groups.length; first++) {
    const last = findCardSpan(groups, first);
    if (last < 0) continue;
    const start = starts[first] ?? 0;
    const end = (starts[last] ?? 0) + (groups[last]?.length ?? 0);
    out += run.slice(copiedUpTo, start) + REDACTED;
    copiedUpTo = end;
    first = last;
  }
  return copiedUpTo === 0 ? run : out + run.slice(copiedUpTo);
}

/** Index of the last group of the longest card starting at group `first`, or -1. */
function findCardSpan(groups: readonly string[], first: number): number {
  let digits = '';
  let last = first - 1;
  for (let next = groups[first]; next !== undefined && digits.length + next.length <= 19; next = groups[last + 1]) {
    digits += next;
    last++;
    // Cards are written in blocks of 4+ digits ("4111 1111 …", "3782 822463 10005"),
    // only the final block may be shorter; date ranges and lists of small numbers are not.
    if (next.length < 4) break;
  }
  for (; last >= first && digits.length >= 13; last--) {
    if (isCardDigits(digits)) return last;
    digits = digits.slice(0, digits.length - (groups[last]?.length ?? 0));
  }
  return -1;
}

/**
 * Luhn alone flags one in ten random numbers. Issuers never start a card with
 * 0 or 1 (UATP airline cards aside), which also rules out every millisecond
 * or microsecond timestamp until the year 2286.
 */
function isCardDigits(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19 || digits.charCodeAt(0) < 0x32 /* '2' */) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** A card can arrive as a JSON number (`{"number": 4111111111111111}`). */
function isCardNumber(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1e12 && isCardDigits(String(n));
}

function escapeUnsafe(s: string): string {
  return s.replace(UNSAFE_CHARS, (c) => NAMED_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function jsonBytes(value: string | number | boolean | null): number {
  return typeof value === 'string' ? Buffer.byteLength(JSON.stringify(value)) : String(value).length;
}

function firstOf<T>(iterator: Iterator<T>, count: number): T[] {
  const out: T[] = [];
  while (out.length < count) {
    const next = iterator.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

function mapKeyToString(key: unknown): string {
  try {
    return typeof key === 'string' ? key : String(key);
  } catch {
    return UNREADABLE;
  }
}

/** Plain assignment of '__proto__' would replace the result's prototype instead of storing data. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}
