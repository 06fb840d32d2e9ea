/**
 * Turns captured request data (bodies, headers, query strings, log text) into a
 * bounded, JSON-safe copy with secrets removed, so that the audit trail never
 * stores credentials and one huge or hostile payload cannot bloat it.
 */
import { types } from 'node:util';
import { isCardNumber, isCardSeparator, MAX_CARD_SEPARATORS, MIN_CARD_DIGITS, redactCards } from './cards';
import {
  redactAwsKeyIds, redactIbans, redactJwts, redactPairs, redactPrivateKeys, redactUserinfo, type PairJudge,
} from './textSecrets';

/** Bounds on what the sanitizer keeps; the `limits` option (lib/capture/options.ts) checks them. */
export interface SanitizeLimits {
  /** deepest nesting kept; deeper values become '[depth limit]' */
  maxDepth: number;
  /** keys kept per object and items per array; the rest are dropped and counted */
  maxKeys: number;
  /** longest string kept, in characters; longer ones are cut and end with '…[+N chars]' */
  maxStringLength: number;
  /** approximate serialized size budget (bytes of JSON) for the whole result */
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
  /**
   * true when a URL or form parameter is sensitive: a sensitive key, or a name that carries a
   * credential only in URLs (sig, X-Amz-Signature, OAuth code, Google API key…). Percent-encoding is undone first.
   */
  isSensitiveParam(rawKey: string): boolean;
}

export interface SanitizeOptions {
  extraSensitiveKeys?: readonly string[];
  /** Checked bounds (the `limits` option, resolved); those left out keep DEFAULT_SANITIZE_LIMITS. */
  limits?: Partial<SanitizeLimits>;
}

const CIRCULAR = '[circular]';
const DEPTH_LIMIT = '[depth limit]';
const SIZE_LIMIT = '[size limit]';
const UNREADABLE = '[unreadable]';
const MORE_KEYS = '…';
// Keys that hold the value of a field named by a sibling key (NAME_KEYS).
const VALUE_KEYS = new Set(['value', 'Value', 'val']);
const NAME_KEYS = ['name', 'Name', 'key', 'Key', 'field', 'param', 'parameter', 'path'];
/** Walk result for values JSON leaves out (undefined, functions, symbols). */
const OMIT = Symbol('omit');

// Matched anywhere in the normalized key: none of these occur inside harmless
// field names. 'token' also hits tokenizer_version; we accept that, since missing an access_token
// is far worse than hiding a harmless field (numeric token counts are let through, see below).
// (clientsecret and cvv2 are covered by secret and cvv.)
const SENSITIVE_FRAGMENTS = [
  'password', 'passwd', 'pwd', 'passphrase', 'passcode', 'secret', 'token', 'apikey', 'accesskey',
  'authorization', 'credential', 'cookie', 'sessionid', 'privatekey', 'cardnumber', 'creditcard',
  'ccnumber', 'cvv', 'cvc', 'securitycode', 'cpf', 'cnpj', 'iban', 'mfacode', 'otpcode', 'pincode',
  'socialsecurity',
];
// Short words that live inside ordinary words (author, spin, pineapple, panel,
// session_start) only count as the whole key.
const SENSITIVE_EXACT = new Set([
  'auth', 'session', 'sid', 'connectsid', 'phpsessid', 'pan', 'pin', 'otp', 'signature', 'pass', 'pw',
]);
// Names that carry a credential when they are URL parameters (signed URLs, OAuth redirects, API
// keys), but are ordinary words as fields of a body (a product code, a sort key).
const URL_PARAM_EXACT = new Set([
  'sig', 'xamzsignature', 'xamzcredential', 'xgoogsignature', 'xgoogcredential', 'code', 'authcode', 'key',
]);
// Language-model usage is counted in tokens (input_tokens, totalTokens, token_count). Such a key is
// sensitive only because of 'token'; with the count words taken out it must read as harmless, and
// its value is kept only when it is a number, which no credential is stored as.
const TOKEN_COUNT_WORDS = /tokens|tokencount/g;
// 'ssn' appears inside businessName/className/address_number once separators
// are stripped, so it must start or end a word of the original key; 'pass' and 'pw' (compass,
// passenger, pwa) must be a whole word of it (db_pass, newPw).
const SENSITIVE_WORD = /(?:^|[^a-z])ssn|ssn(?:$|[^a-z])|(?:^|[^a-z])(?:pass|pw)(?:$|[^a-z])/;
const CAMEL_BOUNDARY = /([a-z0-9])([A-Z])/g;
const KEY_SEPARATORS = /[-_.\s]/g;
const KEY_CACHE_SIZE = 1000;
// Keys longer than this are rare and would pin large strings in the cache.
const MAX_CACHED_KEY_LENGTH = 256;
// Up to this maxDepth, the current path is searched as an array (cheaper than a Set when short).
const MAX_ARRAY_SEARCHED_DEPTH = 64;
// Cleaned text is cached for short strings that needed the slow path (header
// values, referers, query strings repeat across requests). Strings in which
// something was redacted are never cached, so the cache pins no secrets.
const TEXT_CACHE_SIZE = 500;
const MAX_CACHED_TEXT_LENGTH = 256;

// A secret straddling the cut point must be recognised whole, so redaction
// looks this far past maxStringLength; beyond it, work would grow with input size.
const REDACT_MARGIN = 16 * 1024;

// Each scanner below (textSecrets.ts, cards.ts) and AUTH_SCHEME can only find a secret in a
// string that holds its trigger, which scanText() looks for in one pass; a scanner runs only when
// its trigger was seen. Changing a scanner means checking that its trigger still holds.
// Free text is read by hand-written scanners, not regular expressions, so that no input can make
// the work grow faster than the text (__tests__/regexSafety.test.ts checks the patterns left).
// Trigger: 'bearer' or 'basic' in any case (without the u flag, /i folds no
// non-ASCII character onto an ASCII letter). The credential is an RFC 7235 token68.
const AUTH_SCHEME = /\b(bearer|basic)(\s+)([A-Za-z0-9\-._~+/]+=*)/gi;
const BASIC_CREDENTIALS = /^[^\x00-\x1f:]*:[^\x00-\x1f]*$/;

// scanText() result bits, each naming the scanner that may find something, and its trigger.
const T_PAIR = 1; // ':' or '=': key/value pairs
const T_SCHEME = 2; // '://'
const T_JWT = 4; // 'eyJ'
const T_AUTH = 8; // 'bearer' or 'basic', any case
const T_DIGITS = 16; // 13+ digits, neighbours at most MAX_CARD_SEPARATORS apart: cards
const T_PEM = 32; // '-----BEGIN'
const T_AWS = 64; // 'AKIA' or 'ASIA'
const T_IBAN = 128; // two capitals, then a digit run: IBANs
const T_UNSAFE = 256; // characters that must be escaped
const T_AT = 512; // '@'
const T_USERINFO = T_SCHEME | T_AT; // both: the password of scheme://user:password@host

const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** JSON size in bytes of values the walk emits often. */
const NULL_BYTES = 4;
const REDACTED_BYTES = REDACTED.length + 2;
const SIZE_LIMIT_BYTES = SIZE_LIMIT.length + 2;

interface WalkState {
  used: number;
  full: boolean;
  truncated: boolean;
  /** objects on the current path; a shared (non-cyclic) reference is copied twice, like JSON */
  path: object[];
  /** the same objects, when paths may be long enough for a linear search to cost */
  pathSet: Set<object> | null;
}

interface RecordKey {
  text: string;
  cut: boolean;
  bytes: number;
  sensitive: boolean;
  /** Sensitive only as a count of tokens (input_tokens, max_tokens): a number is kept, anything else redacted. */
  tokenCount: boolean;
}

interface CleanedText {
  text: string;
  cut: boolean;
  /** JSON size of text, in bytes */
  bytes: number;
}

export function createSanitizer(options: SanitizeOptions = {}): Sanitizer {
  const { maxDepth, maxKeys, maxStringLength, maxTotalBytes } = { ...DEFAULT_SANITIZE_LIMITS, ...options.limits };
  // An empty extra key would match every key.
  const extraFragments = (options.extraSensitiveKeys ?? []).map(normalizeKey).filter((k) => k.length > 0);
  const fragments = [...SENSITIVE_FRAGMENTS, ...extraFragments];
  const keyCache = new Map<string, boolean>();
  // Object keys repeat far more than values: their cleaned form and sensitivity in one lookup.
  const recordKeyCache = new Map<string, RecordKey>();
  // Per instance: cleaned text depends on the limits and the sensitive keys.
  const textCache = new Map<string, CleanedText>();
  // Side results of cleanString(), read right after each call (it runs no caller code in between).
  let lastCut = false;
  let lastBytes = 0;

  // A key is judged on as much of it as a value would be read: work stays within the caps.
  const judgedKeyLength = maxStringLength + REDACT_MARGIN;

  function isSensitiveKey(fullKey: string): boolean {
    const cached = keyCache.get(fullKey);
    if (cached !== undefined) return cached;
    const key = fullKey.length > judgedKeyLength ? fullKey.slice(0, judgedKeyLength) : fullKey;
    const normalized = normalizeKey(key);
    let sensitive = SENSITIVE_EXACT.has(normalized);
    for (let i = 0; !sensitive && i < fragments.length; i++) sensitive = normalized.includes(fragments[i] as string);
    if (!sensitive) sensitive = SENSITIVE_WORD.test(key.replace(CAMEL_BOUNDARY, '$1 $2').toLowerCase());
    if (key.length <= MAX_CACHED_KEY_LENGTH) {
      // Clearing rather than refusing new entries keeps the cache useful when
      // an early burst of one-off keys filled it.
      if (keyCache.size >= KEY_CACHE_SIZE) keyCache.clear();
      keyCache.set(key, sensitive);
    }
    return sensitive;
  }

  function isTokenCountKey(fullKey: string): boolean {
    const key = fullKey.length > judgedKeyLength ? fullKey.slice(0, judgedKeyLength) : fullKey;
    const normalized = normalizeKey(key);
    const rest = normalized.replace(TOKEN_COUNT_WORDS, ' ');
    if (rest === normalized) return false;
    // A key the app itself named sensitive stays redacted, numbers included.
    if (extraFragments.some((fragment) => fragment.includes('token') && normalized.includes(fragment))) return false;
    return !SENSITIVE_EXACT.has(rest.trim()) && !fragments.some((fragment) => rest.includes(fragment))
      && !SENSITIVE_WORD.test(rest);
  }

  function isSensitiveParam(rawKey: string): boolean {
    let key = rawKey;
    if (rawKey.indexOf('%') !== -1 || rawKey.indexOf('+') !== -1) {
      key = rawKey.replace(/\+/g, ' ');
      try {
        key = decodeURIComponent(key);
      } catch {
        // malformed escapes: judge the key as written
      }
    }
    return isSensitiveKey(key) || (key.length <= MAX_CACHED_KEY_LENGTH && URL_PARAM_EXACT.has(normalizeKey(key)));
  }

  const pairJudge: PairJudge = { field: isSensitiveKey, param: isSensitiveParam };

  /** Runs the scanners whose triggers scanText() found, in a fixed order; each is linear in s. */
  function redactSecrets(s: string, triggers: number): string {
    let out = s;
    if (triggers & T_PEM) out = redactPrivateKeys(out, REDACTED);
    if (triggers & T_JWT) out = redactJwts(out, REDACTED);
    if (triggers & T_AUTH) out = replaceMatches(out, AUTH_SCHEME, redactAuthScheme);
    if ((triggers & T_USERINFO) === T_USERINFO) out = redactUserinfo(out, REDACTED);
    if (triggers & T_PAIR) out = redactPairs(out, pairJudge, REDACTED);
    if (triggers & T_AWS) out = redactAwsKeyIds(out, REDACTED);
    if (triggers & T_IBAN) out = redactIbans(out, REDACTED);
    if (triggers & T_DIGITS) out = redactCards(out, REDACTED);
    return out;
  }

  /**
   * Redact, then cut, then escape: escaping last means the cut can never split an escape sequence.
   * Returns the text and sets lastCut and lastBytes.
   */
  function cleanString(s: string): string {
    const length = s.length;
    const scanned = length > maxStringLength + REDACT_MARGIN ? maxStringLength + REDACT_MARGIN : length;
    const triggers = scanText(s, scanned);
    const scannedBytes = scannedJsonBytes; // the JSON size of s, if s is kept as it is
    if (triggers === 0 && length <= maxStringLength) {
      // Nothing to redact, escape or cut: the common case.
      lastCut = false;
      lastBytes = scannedBytes;
      return s;
    }
    const cacheable = length <= MAX_CACHED_TEXT_LENGTH;
    if (cacheable) {
      const hit = textCache.get(s);
      if (hit !== undefined) {
        lastCut = hit.cut;
        lastBytes = hit.bytes;
        return hit.text;
      }
    }
    const head = scanned < length ? s.slice(0, scanned) : s;
    const redacted = redactSecrets(head, triggers);
    let text: string;
    let cut: boolean;
    if (head === s && redacted.length <= maxStringLength) {
      text = triggers & T_UNSAFE ? escapeUnsafe(redacted) : redacted;
      cut = false;
    } else {
      let keep = Math.min(maxStringLength, redacted.length);
      if (keep > 0 && isHighSurrogate(redacted.charCodeAt(keep - 1))) keep--;
      const dropped = redacted.length - keep + (length - head.length);
      const kept = redacted.slice(0, keep);
      text = `${triggers & T_UNSAFE ? escapeUnsafe(kept) : kept}…[+${dropped} chars]`;
      cut = true;
    }
    const bytes = text === s ? scannedBytes : jsonStringBytes(text);
    if (cacheable && redacted === head) {
      if (textCache.size >= TEXT_CACHE_SIZE) textCache.clear();
      textCache.set(s, { text, cut, bytes });
    }
    lastCut = cut;
    lastBytes = bytes;
    return text;
  }

  function recordKey(rawKey: string): RecordKey {
    const cached = recordKeyCache.get(rawKey);
    if (cached !== undefined) return cached;
    const text = cleanString(rawKey);
    const sensitive = isSensitiveKey(rawKey);
    const key: RecordKey = { text, cut: lastCut, bytes: lastBytes, sensitive, tokenCount: sensitive && isTokenCountKey(rawKey) };
    // Only keys kept as they are: a key with something redacted in it is not pinned in memory.
    if (text === rawKey && rawKey.length <= MAX_CACHED_KEY_LENGTH) {
      if (recordKeyCache.size >= KEY_CACHE_SIZE) recordKeyCache.clear();
      recordKeyCache.set(rawKey, key);
    }
    return key;
  }

  function charge(state: WalkState, cost: number): boolean {
    if (state.full || state.used + cost > maxTotalBytes) {
      state.full = true;
      state.truncated = true;
      return false;
    }
    state.used += cost;
    return true;
  }

  /** Emits a primitive of the given JSON size if it fits the byte budget, else the size marker. */
  function fitSized<T>(state: WalkState, value: T, bytes: number): T | string {
    if (charge(state, bytes)) return value;
    state.used += SIZE_LIMIT_BYTES;
    return SIZE_LIMIT;
  }

  function fit(state: WalkState, value: string | null): unknown {
    return fitSized(state, value, value === null ? NULL_BYTES : jsonStringBytes(value));
  }

  /** Markers are always emitted (over budget if need be) so the reader knows something is missing. */
  function marker(state: WalkState, text: string): string {
    state.truncated = true;
    state.used += jsonStringBytes(text) + 1;
    return text;
  }

  function walk(input: unknown, depth: number, state: WalkState, allowToJSON: boolean): unknown {
    switch (typeof input) {
      case 'string': {
        const text = cleanString(input);
        if (lastCut) state.truncated = true;
        return fitSized(state, text, lastBytes);
      }
      case 'number':
        if (!Number.isFinite(input)) return fitSized(state, null, NULL_BYTES);
        if (isCardNumber(input)) return fitSized(state, REDACTED, REDACTED_BYTES);
        return fitSized(state, input, numberBytes(input));
      case 'bigint':
        // As a string it also gets card-number redaction.
        return walk(input.toString(), depth, state, true);
      case 'boolean':
        return fitSized(state, input, input ? 4 : 5);
      case 'undefined':
      case 'function':
      case 'symbol':
        return OMIT;
    }
    if (input === null) return fitSized(state, null, NULL_BYTES);
    return walkObject(input as object, depth, state, allowToJSON);
  }

  function walkObject(obj: object, depth: number, state: WalkState, allowToJSON: boolean): unknown {
    try {
      if (state.pathSet === null ? state.path.includes(obj) : state.pathSet.has(obj)) return fit(state, CIRCULAR);
      // A parsed body, query or header set is a plain record: one prototype read instead of asking
      // V8 about seven kinds of internal slots (about 0.1 µs each). An array has none of them either.
      const plain = isPlainRecord(obj);
      if (!plain && !Array.isArray(obj)) {
        if (ArrayBuffer.isView(obj)) return fit(state, `[binary ${obj.byteLength} bytes]`);
        if (types.isAnyArrayBuffer(obj)) return fit(state, `[binary ${obj.byteLength} bytes]`);
        if (types.isDate(obj)) {
          const time = Date.prototype.getTime.call(obj);
          return Number.isNaN(time) ? fit(state, null) : fit(state, new Date(time).toISOString());
        }
        if (types.isBoxedPrimitive(obj)) return walk(obj.valueOf(), depth, state, true);
      }
      const toJSON: unknown = allowToJSON ? (obj as { toJSON?: unknown }).toJSON : undefined;
      // Like JSON.stringify, toJSON is applied once; its result is not asked again.
      if (typeof toJSON === 'function') return walk(toJSON.call(obj, ''), depth, state, false);

      if (depth >= maxDepth) {
        state.truncated = true;
        return fit(state, DEPTH_LIMIT);
      }
      state.path.push(obj);
      state.pathSet?.add(obj);
      try {
        return walkContainer(obj, depth, state, plain);
      } finally {
        state.path.pop();
        state.pathSet?.delete(obj);
      }
    } catch {
      // toJSON, a Proxy trap or an exotic accessor threw.
      return fit(state, UNREADABLE);
    }
  }

  function walkContainer(obj: object, depth: number, state: WalkState, plain: boolean): unknown {
    if (plain) {
      const keys = Object.keys(obj);
      return walkRecord(obj as Record<string, unknown>, keys, keys.length, null, depth, state);
    }
    if (Array.isArray(obj)) return walkList(obj, obj.length, depth, state);
    if (types.isSet(obj)) {
      const set = obj as Set<unknown>;
      return walkList(firstOf(set.values(), maxKeys), set.size, depth, state);
    }
    if (types.isMap(obj)) {
      const map = obj as Map<unknown, unknown>;
      const entries = firstOf(map.entries(), maxKeys);
      const keys: string[] = [];
      const values: unknown[] = [];
      for (const [key, value] of entries) {
        keys.push(mapKeyToString(key));
        values.push(value);
      }
      return walkRecord(null, keys, map.size, values, depth, state);
    }
    let keys = Object.keys(obj);
    // message and name are not own enumerable properties, yet they are the point of an Error.
    if (types.isNativeError(obj)) keys = ['name', 'message', ...keys.filter((k) => k !== 'name' && k !== 'message')];
    return walkRecord(obj as Record<string, unknown>, keys, keys.length, null, depth, state);
  }

  function walkList(items: readonly unknown[], total: number, depth: number, state: WalkState): unknown {
    if (!charge(state, 2)) return marker(state, SIZE_LIMIT);
    const out: unknown[] = [];
    const end = Math.min(total, maxKeys);
    let i = 0;
    for (; i < end && !state.full; i++) {
      state.used += 1; // comma
      let child: unknown;
      let readable = true;
      try {
        child = items[i];
      } catch {
        readable = false; // an index getter or a Proxy trap threw
      }
      const item = readable ? walk(child, depth + 1, state, true) : fit(state, UNREADABLE);
      out.push(item === OMIT ? null : item);
    }
    if (i < total) out.push(marker(state, `[+${total - i} more items]`));
    return out;
  }

  /** The value of a token-count key when it is a finite number; undefined for anything else. */
  function readCount(source: Record<string, unknown> | null, values: readonly unknown[] | null, index: number, rawKey: string): number | undefined {
    try {
      const child = source === null ? values?.[index] : source[rawKey];
      return typeof child === 'number' && Number.isFinite(child) ? child : undefined;
    } catch {
      return undefined; // a getter threw: redacted like any sensitive value
    }
  }

  /**
   * Whether an object that holds a `value` names a sensitive field beside it: a name/value pair
   * (`{"name":"password","value":…}`) or a JSON Patch operation (`{"path":"/user/password","value":…}`).
   */
  function namesSensitiveField(source: Record<string, unknown>): boolean {
    for (const nameKey of NAME_KEYS) {
      let name: unknown;
      try {
        name = Object.hasOwn(source, nameKey) ? source[nameKey] : undefined;
      } catch {
        return true; // a getter threw: the value's meaning is unknown, so it is not stored
      }
      if (typeof name !== 'string' || name === '') continue;
      if (nameKey !== 'path') {
        if (isSensitiveKey(name)) return true;
        continue;
      }
      // A JSON Pointer: any of its segments may name the secret (/credentials/0, /user/password).
      const pointer = name.length > judgedKeyLength ? name.slice(0, judgedKeyLength) : name;
      for (const segment of pointer.split('/')) {
        if (segment !== '' && isSensitiveKey(segment.replace(/~1/g, '/').replace(/~0/g, '~'))) return true;
      }
    }
    return false;
  }

  /** Reads values from `source` by key, or from `values` by index when source is null (Maps). */
  function walkRecord(
    source: Record<string, unknown> | null,
    keys: readonly string[],
    total: number,
    values: readonly unknown[] | null,
    depth: number,
    state: WalkState,
  ): unknown {
    if (!charge(state, 2)) return marker(state, SIZE_LIMIT);
    const out: Record<string, unknown> = {};
    const end = Math.min(keys.length, maxKeys);
    let i = 0;
    for (; i < end && !state.full; i++) {
      const rawKey = keys[i] ?? '';
      const key = recordKey(rawKey);
      if (key.cut) state.truncated = true;
      if (!charge(state, key.bytes + 2)) break;
      let value: unknown;
      const count = key.tokenCount ? readCount(source, values, i, rawKey) : undefined;
      if (count !== undefined) {
        value = walk(count, depth + 1, state, true);
      } else if (key.sensitive || (source !== null && VALUE_KEYS.has(rawKey) && namesSensitiveField(source))) {
        // A sensitive value is never read: no getter side effects, nothing to leak.
        value = fitSized(state, REDACTED, REDACTED_BYTES);
      } else {
        let child: unknown;
        let readable = true;
        try {
          child = source === null ? values?.[i] : source[rawKey];
        } catch {
          readable = false; // a getter threw
        }
        value = readable ? walk(child, depth + 1, state, true) : fit(state, UNREADABLE);
      }
      if (value !== OMIT) setOwn(out, key.text, value);
    }
    if (i < total) setOwn(out, MORE_KEYS, marker(state, `[+${total - i} more keys]`));
    return out;
  }

  return {
    value(input) {
      const state: WalkState = {
        used: 0,
        full: false,
        truncated: false,
        path: [],
        pathSet: maxDepth > MAX_ARRAY_SEARCHED_DEPTH ? new Set() : null,
      };
      try {
        const out = walk(input, 0, state, true);
        return { value: out === OMIT ? undefined : out, truncated: state.truncated };
      } catch {
        // Last resort (e.g. a stack overflow from an absurd maxDepth): the contract is to never throw.
        return { value: UNREADABLE, truncated: true };
      }
    },
    text: cleanString,
    isSensitiveKey,
    isSensitiveParam,
  };
}

/** A key as it is compared: lower case, without separators (`userName`, `user_name`, `USER-NAME` are one). */
export function normalizeKey(key: string): string {
  return key.toLowerCase().replace(KEY_SEPARATORS, '');
}

/** "Basic" is also an English word ("Basic plan"); real credentials decode to user:password. */
function isBasicCredentials(token: string): boolean {
  return BASIC_CREDENTIALS.test(Buffer.from(token, 'base64').toString('latin1'));
}

function redactAuthScheme(m: RegExpExecArray): string {
  const match = m[0];
  const scheme = m[1] ?? '';
  const space = m[2] ?? '';
  const token = m[3] ?? '';
  return scheme.toLowerCase() === 'basic' && !isBasicCredentials(token) ? match : `${scheme}${space}${REDACTED}`;
}

/**
 * s.replace(re, (...) => replace(m)) for a global re; an exec() loop costs a third of what
 * V8 charges for replace() with a callback. replace returns m[0] itself to keep a match.
 */
function replaceMatches(s: string, re: RegExp, replace: (m: RegExpExecArray) => string): string {
  let out = '';
  let copied = 0;
  let changed = false;
  re.lastIndex = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const match = m[0];
    if (match.length === 0) re.lastIndex++; // as replace() does; AUTH_SCHEME never matches ''
    const replacement = replace(m);
    if (replacement !== match) {
      out += s.slice(copied, m.index) + replacement;
      copied = m.index + match.length;
      changed = true;
    }
  }
  return changed ? out + s.slice(copied) : s;
}

/** JSON size of the string scanText() last looked at, valid when it reported nothing unsafe. */
let scannedJsonBytes = 0;

// scanText() classes of ASCII characters.
const PLAIN = 0;
const DIGIT = 1;
const SEPARATOR = 2; // may sit between two digits of a card number
const NOTABLE = 3; // a trigger, or costs an extra byte in JSON
const CONTROL = 4;
const ASCII_CLASS = new Uint8Array(0x80);
for (let c = 0; c < 0x20; c++) ASCII_CLASS[c] = CONTROL;
ASCII_CLASS[0x7f] = CONTROL;
for (let c = 0x30; c <= 0x39; c++) ASCII_CLASS[c] = DIGIT;
for (let c = 0; c < 0x80; c++) if (isCardSeparator(c)) ASCII_CLASS[c] = SEPARATOR;
for (const c of '"\\:=@eBbI') ASCII_CLASS[c.charCodeAt(0)] = NOTABLE;

/**
 * One pass over s[0, end) that reports which scanners could find something (T_* bits) and
 * whether anything needs escaping (T_UNSAFE); 0 means the string can be kept as it is.
 * Also leaves the JSON size of s in scannedJsonBytes.
 */
function scanText(s: string, end: number): number {
  let triggers = 0;
  let bytes = s.length + 2;
  let digits = 0; // digits in the current run that a card could be made of
  let separators = 0; // separators since the last digit
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      const kind = ASCII_CLASS[c];
      if (kind === PLAIN) {
        digits = 0;
        separators = 0;
        continue;
      }
      if (kind === DIGIT) {
        // A run that starts right after two capitals may be an IBAN (DE89…).
        if (digits === 0 && isUpperAt(s, i - 1) && isUpperAt(s, i - 2)) triggers |= T_IBAN;
        if (++digits >= MIN_CARD_DIGITS) triggers |= T_DIGITS;
        separators = 0;
        continue;
      }
      if (kind === SEPARATOR) {
        // Up to MAX_CARD_SEPARATORS may sit between two digits of a card; more end the run.
        if (++separators > MAX_CARD_SEPARATORS) digits = 0;
        if (c === 0x2d && s.charCodeAt(i + 5) === 0x42 && s.startsWith('----BEGIN ', i + 1)) triggers |= T_PEM;
        continue;
      }
      digits = 0;
      separators = 0;
      if (kind === CONTROL) {
        triggers |= T_UNSAFE;
        continue;
      }
      switch (c) {
        case 0x22: // "
        case 0x5c: // backslash
          bytes++;
          break;
        case 0x3a: // :
          triggers |= T_PAIR;
          if (s.charCodeAt(i + 1) === 0x2f && s.charCodeAt(i + 2) === 0x2f) triggers |= T_SCHEME;
          break;
        case 0x3d: // =
          triggers |= T_PAIR;
          break;
        case 0x40: // @
          triggers |= T_AT;
          break;
        case 0x65: // e, of eyJ
          if (s.charCodeAt(i + 1) === 0x79 && s.charCodeAt(i + 2) === 0x4a) triggers |= T_JWT;
          break;
        case 0x49: // I, of AKIA or ASIA
          if (s.charCodeAt(i + 1) === 0x41 && s.charCodeAt(i - 2) === 0x41 && (s.charCodeAt(i - 1) === 0x4b || s.charCodeAt(i - 1) === 0x53)) triggers |= T_AWS;
          break;
        default: // B or b
          if (continuesAuthScheme(s, i + 1)) triggers |= T_AUTH;
      }
      continue;
    }
    digits = 0;
    separators = 0;
    if (c <= 0x9f) {
      triggers |= T_UNSAFE; // C1 controls
    } else if (c < 0x800) {
      bytes += 1; // 2 bytes in UTF-8
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // a pair: 4 bytes in UTF-8
        i++;
      } else {
        bytes += 5; // JSON writes a lone surrogate as \uXXXX
      }
    } else {
      if (c === 0x2028 || c === 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) {
        triggers |= T_UNSAFE;
      }
      bytes += 2; // 3 bytes in UTF-8
    }
  }
  scannedJsonBytes = bytes;
  return triggers;
}

function isUpperAt(s: string, at: number): boolean {
  const c = s.charCodeAt(at);
  return c >= 0x41 && c <= 0x5a;
}

/** Whether s continues at `from` with the rest of 'bearer' or 'basic', in any case (| 0x20 lowercases a letter). */
function continuesAuthScheme(s: string, from: number): boolean {
  const first = s.charCodeAt(from) | 0x20;
  if (first === 0x65) {
    // e-a-r-e-r
    return (
      (s.charCodeAt(from + 1) | 0x20) === 0x61 &&
      (s.charCodeAt(from + 2) | 0x20) === 0x72 &&
      (s.charCodeAt(from + 3) | 0x20) === 0x65 &&
      (s.charCodeAt(from + 4) | 0x20) === 0x72
    );
  }
  // a-s-i-c
  return (
    first === 0x61 &&
    (s.charCodeAt(from + 1) | 0x20) === 0x73 &&
    (s.charCodeAt(from + 2) | 0x20) === 0x69 &&
    (s.charCodeAt(from + 3) | 0x20) === 0x63
  );
}

function escapeUnsafe(s: string): string {
  return s.replace(UNSAFE_CHARS, escapeChar);
}

function escapeChar(c: string): string {
  return NAMED_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Buffer.byteLength(JSON.stringify(s)), without building either. */
function jsonStringBytes(s: string): number {
  let bytes = s.length + 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x80) {
      if (c === 0x22 || c === 0x5c) bytes++; // " and backslash
    } else if (c < 0x20) {
      // \b \t \n \f \r, or \u00XX
      bytes += c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 1 : 5;
    } else if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2;
        i++;
      } else {
        bytes += 5;
      }
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/** String(n).length for a finite number, without building the string in the common case. */
function numberBytes(n: number): number {
  if (Number.isInteger(n) && n < 1e15 && n > -1e15) {
    const magnitude = n < 0 ? -n : n;
    let bytes = n < 0 ? 2 : 1;
    for (let power = 10; power <= magnitude; power *= 10) bytes++;
    return bytes;
  }
  return String(n).length;
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
/**
 * An object made by a literal, JSON.parse or Object.create(null) (query parsers use both). One
 * whose prototype was swapped away from a Date, Map or Error is read like JSON.stringify reads
 * it: by its own keys.
 */
function isPlainRecord(obj: object): boolean {
  const proto: unknown = Object.getPrototypeOf(obj);
  return proto === Object.prototype || proto === null;
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}
