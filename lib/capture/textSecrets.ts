/**
 * Finds secrets in free text (bodies sent as text, query strings, header values, log messages)
 * with hand-written scanners instead of regular expressions. Each scanner moves left to right and
 * never looks back further than a small fixed distance, so its work is linear in the text whatever
 * the text holds: no input can make it backtrack, which a client could otherwise use to stall the
 * event loop of the app it is recording.
 */

import { TextEdits } from './textEdits';

/** Decides whether a key found in text is sensitive. */
export interface PairJudge {
  /** A key written before ':' or '=>' (JSON, GraphQL arguments, YAML, log fields); unescaped already. */
  field(key: string): boolean;
  /** A key written before '=' (a URL or form parameter, an INI entry); still percent-encoded. */
  param(rawKey: string): boolean;
}

/** Longer keys are not taken for keys: real ones are short, and this bounds the look back. */
const MAX_KEY_CHARS = 128;
/** Spaces allowed between a key, its separator and its value (`aws_secret_access_key = …`). */
const MAX_GAP = 16;

const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const EQUALS = 0x3d;

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

// Characters that end a key written without quotes (whitespace, separators, brackets, quotes).
const KEY_STOP = new Uint8Array(0x80);
for (let c = 0; c <= 0x20; c++) KEY_STOP[c] = 1;
for (const c of '=&;?#:,{}()"\'<>|`') KEY_STOP[c.charCodeAt(0)] = 1;

// Characters that end an unquoted value after '=' (as in a query string) or after ':'.
const PARAM_VALUE_STOP = new Uint8Array(0x80);
for (let c = 0; c <= 0x20; c++) PARAM_VALUE_STOP[c] = 1;
for (const c of '&;#"') PARAM_VALUE_STOP[c.charCodeAt(0)] = 1;
const FIELD_VALUE_STOP = new Uint8Array(0x80);
for (let c = 0; c <= 0x20; c++) FIELD_VALUE_STOP[c] = 1;
for (const c of ',;&}])"\'') FIELD_VALUE_STOP[c.charCodeAt(0)] = 1;

function stops(table: Uint8Array, c: number): boolean {
  return c < 0x80 ? table[c] === 1 : c === 0x2028 || c === 0x2029;
}

interface FoundKey {
  key: string;
  /** How the key was quoted: '"' or "'" for a quoted key, '\\"' inside escaped JSON, '' for none. */
  quote: string;
}

/**
 * Replaces the values of sensitive keys in `key: value`, `"key": value`, `'key' => value`,
 * `key=value` and `key = value` pairs. A value is a quoted string, a bracketed structure, or a run
 * of characters up to a separator; a quoted value or a structure left open runs to the end.
 */
export function redactPairs(s: string, judge: PairJudge, redacted: string): string {
  const edits = new TextEdits(s);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c !== COLON && c !== EQUALS) continue;
    // '=>' (PHP, Ruby) pairs a field with its value the way ':' does.
    const arrow = c === EQUALS && s.charCodeAt(i + 1) === 0x3e;
    const asField = c === COLON || arrow;
    if (c === COLON && s.charCodeAt(i + 1) === 0x2f && s.charCodeAt(i + 2) === 0x2f) continue; // a URL's scheme
    const found = keyBefore(s, i, edits.copied);
    if (found === null || !(asField ? judge.field(found.key) : judge.param(found.key))) continue;
    let start = i + (arrow ? 2 : 1);
    const gapEnd = Math.min(n, start + MAX_GAP);
    while (start < gapEnd && isBlank(s.charCodeAt(start))) start++;
    const end = valueEnd(s, start, asField ? FIELD_VALUE_STOP : PARAM_VALUE_STOP);
    // 'Password:' at the end of a sentence has no value; 'password=' in a query is still a field.
    if (end === start && asField) continue;
    const first = s.charCodeAt(start);
    let replacement = redacted;
    if (asField) {
      if (first === QUOTE || first === APOSTROPHE) replacement = `${s[start]}${redacted}${s[start]}`;
      else if (first === BACKSLASH) replacement = `\\"${redacted}\\"`;
      else if (found.quote !== '') replacement = `${found.quote}${redacted}${found.quote}`; // keeps JSON valid
    }
    edits.replace(start, end, replacement);
    i = end - 1;
  }
  return edits.result();
}

/**
 * The key just before the separator at `sep`, looking back no further than `floor` and at most
 * MAX_GAP + MAX_KEY_CHARS characters. A quoted key ends its look back at the first quote of its
 * kind, so look backs of different separators do not cover the same text twice.
 */
function keyBefore(s: string, sep: number, floor: number): FoundKey | null {
  let j = sep - 1;
  const gapFloor = Math.max(floor, sep - MAX_GAP);
  while (j >= gapFloor && isBlank(s.charCodeAt(j))) j--;
  if (j < floor) return null;
  const c = s.charCodeAt(j);
  if (c === QUOTE || c === APOSTROPHE) {
    const escaped = c === QUOTE && backslashesBefore(s, j, floor) % 2 === 1;
    const close = escaped ? j - 1 : j;
    const lowest = Math.max(floor, close - MAX_KEY_CHARS - 1);
    let open = close - 1;
    while (open >= lowest && s.charCodeAt(open) !== c) open--;
    if (open < lowest) return null;
    if (escaped) {
      // escaped JSON inside a string: \"key\"
      if (open - 1 < floor || s.charCodeAt(open - 1) !== BACKSLASH) return null;
      return { key: unescape(s.slice(open + 1, close)), quote: '\\"' };
    }
    if (c === QUOTE && backslashesBefore(s, open, floor) % 2 === 1) return null;
    return { key: unescape(s.slice(open + 1, close)), quote: s[j] ?? '' };
  }
  const lowest = Math.max(floor, j - MAX_KEY_CHARS);
  let k = j;
  while (k >= lowest && !stops(KEY_STOP, s.charCodeAt(k))) k--;
  if (k === j || (k < lowest && lowest > floor)) return null;
  return { key: s.slice(k + 1, j + 1), quote: '' };
}

function backslashesBefore(s: string, at: number, floor: number): number {
  let count = 0;
  for (let k = at - 1; k >= floor && s.charCodeAt(k) === BACKSLASH && count <= MAX_KEY_CHARS; k--) count++;
  return count;
}

/** Where the value starting at `start` ends (exclusive). */
function valueEnd(s: string, start: number, stopTable: Uint8Array): number {
  const n = s.length;
  const c = s.charCodeAt(start);
  if (c === QUOTE || c === APOSTROPHE) {
    for (let k = start + 1; k < n; k++) {
      const d = s.charCodeAt(k);
      if (d === BACKSLASH) k++;
      else if (d === c) return k + 1;
    }
    return n;
  }
  if (c === BACKSLASH && s.charCodeAt(start + 1) === QUOTE) {
    for (let k = start + 2; k < n; k++) {
      if (s.charCodeAt(k) === BACKSLASH) {
        if (s.charCodeAt(k + 1) === QUOTE) return k + 2;
        k++;
      }
    }
    return n;
  }
  if (c === 0x7b || c === 0x5b) return structureEnd(s, start);
  let k = start;
  while (k < n && !stops(stopTable, s.charCodeAt(k))) k++;
  return k;
}

/** The end of the `{…}` or `[…]` starting at `start`, strings inside skipped; the text's end if it never closes. */
function structureEnd(s: string, start: number): number {
  let depth = 0;
  const n = s.length;
  for (let k = start; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (--depth === 0) return k + 1;
    } else if (c === QUOTE) {
      for (k++; k < n; k++) {
        const d = s.charCodeAt(k);
        if (d === BACKSLASH) k++;
        else if (d === QUOTE) break;
      }
    }
  }
  return n;
}

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' };

/** A key as JSON or JavaScript would read it: `pass\u0077ord` is `password`. */
function unescape(raw: string): string {
  if (raw.indexOf('\\') === -1) return raw;
  let out = '';
  for (let k = 0; k < raw.length; k++) {
    const c = raw[k] ?? '';
    if (c !== '\\' || k + 1 >= raw.length) {
      out += c;
      continue;
    }
    const next = raw[++k] ?? '';
    const width = next === 'u' ? 4 : next === 'x' ? 2 : 0;
    const hex = raw.slice(k + 1, k + 1 + width);
    if (width > 0 && hex.length === width && isHexText(hex)) {
      out += String.fromCharCode(parseInt(hex, 16));
      k += width;
    } else {
      out += SIMPLE_ESCAPES[next] ?? next;
    }
  }
  return out;
}

function isHexText(text: string): boolean {
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k) | 0x20;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function isTokenChar(c: number): boolean {
  // base64url: A-Z a-z 0-9 - _
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
}

/** Skips base64url characters from `from`; returns where they end. */
function skipToken(s: string, from: number): number {
  let k = from;
  while (k < s.length && isTokenChar(s.charCodeAt(k))) k++;
  return k;
}

/** JWTs (JWS and JWE: three to five base64url segments, the first starting 'eyJ'). */
export function redactJwts(s: string, redacted: string): string {
  const edits = new TextEdits(s);
  let from = 0;
  for (let at = s.indexOf('eyJ', from); at !== -1; at = s.indexOf('eyJ', from)) {
    from = at + 3;
    if (at > 0 && isTokenChar(s.charCodeAt(at - 1))) continue;
    let k = skipToken(s, at + 3);
    if (k === at + 3 || s.charCodeAt(k) !== 0x2e) continue;
    const second = k + 1;
    k = skipToken(s, second);
    if (k === second || s.charCodeAt(k) !== 0x2e) continue;
    k = skipToken(s, k + 1);
    for (let extra = 0; extra < 2 && s.charCodeAt(k) === 0x2e; extra++) k = skipToken(s, k + 1);
    edits.replace(at, k, redacted);
    from = k;
  }
  return edits.result();
}

function isSchemeChar(c: number): boolean {
  return ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2e || c === 0x2d;
}

/** The password of `scheme://user:password@host`; the user is kept. */
export function redactUserinfo(s: string, redacted: string): string {
  const edits = new TextEdits(s);
  let from = 0;
  for (let at = s.indexOf('://', from); at !== -1; at = s.indexOf('://', from)) {
    from = at + 3;
    if (at === 0 || !isSchemeChar(s.charCodeAt(at - 1))) continue;
    let end = at + 3;
    let colon = -1;
    let lastAt = -1;
    for (; end < s.length; end++) {
      const c = s.charCodeAt(end);
      if (c <= 0x20 || c === 0x2f || c === 0x3f || c === 0x23) break; // whitespace / ? #
      if (c === COLON && colon === -1 && lastAt === -1) colon = end;
      else if (c === 0x40) lastAt = end;
    }
    from = end;
    if (colon === -1 || lastAt < colon) continue;
    edits.replace(colon + 1, lastAt, redacted);
  }
  return edits.result();
}

/** PEM private key blocks (RSA, EC, OPENSSH, PKCS#8, encrypted, PGP), from BEGIN to END; to the text's end if END is missing. */
export function redactPrivateKeys(s: string, redacted: string): string {
  const edits = new TextEdits(s);
  let from = 0;
  for (let at = s.indexOf('-----BEGIN ', from); at !== -1; at = s.indexOf('-----BEGIN ', from)) {
    const labelEnd = s.indexOf('-----', at + 11);
    if (labelEnd === -1) break;
    from = labelEnd;
    if (labelEnd - at > 64 || s.slice(at + 11, labelEnd).indexOf('PRIVATE KEY') === -1) continue;
    const footer = s.indexOf('-----END ', labelEnd + 5);
    const close = footer === -1 ? -1 : s.indexOf('-----', footer + 9);
    const end = close === -1 ? s.length : close + 5;
    edits.replace(at, end, redacted);
    from = end;
  }
  return edits.result();
}

function isUpper(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isUpperOrDigit(c: number): boolean {
  return isUpper(c) || isDigit(c);
}

/** AWS access key ids: AKIA (long-term) or ASIA (temporary) and 16 more capitals or digits. */
export function redactAwsKeyIds(s: string, redacted: string): string {
  const edits = new TextEdits(s);
  for (let at = s.indexOf('IA'); at !== -1; at = s.indexOf('IA', at + 2)) {
    const start = at - 2;
    const kind = s.charCodeAt(at - 1);
    if (start < edits.copied || s.charCodeAt(start) !== 0x41 || (kind !== 0x4b && kind !== 0x53)) continue; // A, K or S
    if (start > 0 && isUpperOrDigit(s.charCodeAt(start - 1))) continue;
    let k = start + 4;
    while (k < start + 20 && isUpperOrDigit(s.charCodeAt(k))) k++;
    if (k !== start + 20 || isUpperOrDigit(s.charCodeAt(k))) continue;
    edits.replace(start, k, redacted);
    at = k - 2;
  }
  return edits.result();
}

const IBAN_MIN = 15;
const IBAN_MAX = 34;

/**
 * IBANs, compact (`GB29NWBK60161331926819`) or in groups of four (`DE89 3704 0044 …`), that pass
 * the ISO 13616 check (mod 97), so that ordinary codes are left alone. Work per candidate start is
 * bounded by the longest IBAN.
 */
export function redactIbans(s: string, redacted: string): string {
  const edits = new TextEdits(s);
  const ends: number[] = [];
  const remainders: number[] = [];
  const n = s.length;
  for (let i = 0; i + 4 <= n; i++) {
    if (!isUpper(s.charCodeAt(i)) || !isUpper(s.charCodeAt(i + 1)) || !isDigit(s.charCodeAt(i + 2)) || !isDigit(s.charCodeAt(i + 3))) continue;
    if (i > 0 && isAlphanumeric(s.charCodeAt(i - 1))) continue;
    // The check moves the first four characters to the end: the rest is read first.
    let head = 0;
    let headScale = 1;
    for (let k = i; k < i + 4; k++) {
      const v = ibanValue(s.charCodeAt(k));
      head = (head * (v > 9 ? 100 : 10) + v) % 97;
      headScale = (headScale * (v > 9 ? 100 : 10)) % 97;
    }
    ends.length = 0;
    remainders.length = 0;
    let body = 0;
    let chars = 4;
    let k = i + 4;
    while (k < n && chars < IBAN_MAX) {
      const c = s.charCodeAt(k);
      if (isUpperOrDigit(c)) {
        const v = ibanValue(c);
        body = (body * (v > 9 ? 100 : 10) + v) % 97;
        chars++;
        k++;
        continue;
      }
      // A space may only follow a whole group of four.
      if (c === 0x20 && chars % 4 === 0 && isUpperOrDigit(s.charCodeAt(k + 1))) {
        if (chars >= IBAN_MIN) {
          ends.push(k);
          remainders.push(body);
        }
        k++;
        continue;
      }
      break;
    }
    if (chars >= IBAN_MIN && !isAlphanumeric(s.charCodeAt(k))) {
      ends.push(k);
      remainders.push(body);
    }
    for (let e = ends.length - 1; e >= 0; e--) {
      if (((remainders[e] ?? 0) * headScale + head) % 97 !== 1) continue;
      edits.replace(i, ends[e] ?? edits.copied, redacted);
      i = edits.copied - 1;
      break;
    }
  }
  return edits.result();
}

function isAlphanumeric(c: number): boolean {
  return isUpperOrDigit(c) || (c >= 0x61 && c <= 0x7a);
}

/** A digit is itself; a letter is 10 (A) to 35 (Z). */
function ibanValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : c - 0x41 + 10;
}
