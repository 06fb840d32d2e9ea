import { randomBytes, randomUUID } from 'node:crypto';

const POOL_SIZE = 16 * 256;
let pool = randomBytes(POOL_SIZE);
let poolOffset = POOL_SIZE;

/** 16 random bytes from a pooled buffer: one syscall per 256 ids instead of one per request. */
function random16(): Buffer {
  if (poolOffset >= POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  return bytes;
}

let lastMs = 0;
let counter = 0;

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, a 12-bit counter, then random bits.
 * Ids from one process sort in the order they were made, even within a millisecond, and keep the
 * primary-key index append-mostly. The random tail comes from crypto.randomUUID, which Node serves
 * from a pooled buffer: the cheapest secure randomness there is on the request path.
 */
export function uuidv7(now = Date.now()): string {
  let ms = now;
  let sequence: number;
  if (ms > lastMs) {
    // Start low in the range, so that a burst within one millisecond rarely overflows it.
    lastMs = ms;
    counter = Math.floor(Math.random() * 0x400);
    sequence = counter;
  } else if (lastMs - ms < 10_000) {
    // Same millisecond, or a small clock step back: continue the sequence of the latest id.
    counter++;
    if (counter > 0xfff) {
      lastMs++;
      counter = 0;
    }
    ms = lastMs;
    sequence = counter;
  } else {
    // An event dated well in the past keeps its own time and leaves the sequence alone.
    sequence = Math.floor(Math.random() * 0x1000);
  }
  const time = ms.toString(16).padStart(12, '0');
  // randomUUID's tail already carries the RFC 9562 variant bits (8, 9, a or b) at position 19.
  return `${time.slice(0, 8)}-${time.slice(8)}-7${sequence.toString(16).padStart(3, '0')}-${randomUUID().slice(19)}`;
}

/** A random 128-bit identifier as 32 hex characters. */
export function randomId128(): string {
  return Buffer.from(random16()).toString('hex');
}

/** Longest id kept, escapes included: a report filter takes any stored id as it is shown. */
export const MAX_ID_LENGTH = 255;
const NAMED_ESCAPES: Readonly<Record<number, string>> = { 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };

/**
 * An identifier set by the app or read from a token (user, session, tenant, owner, actor id) as it
 * is stored: control characters, Unicode line separators and bidi controls escaped exactly as
 * sanitize.ts escapes every other recorded string (a NUL would make the database refuse the row; a
 * CR/LF or U+202E would forge a line or reverse text in a report), then capped at MAX_ID_LENGTH.
 * Unlike free text it is not searched for secrets: a numeric id that happens to pass the Luhn check
 * is an id, and reports must find it as it was given. Escaping is idempotent, so an id cleaned twice
 * (the report routes clean the caller's, capture cleans it again) stays the same.
 */
export function cleanId(value: string | number): string {
  const text = typeof value === 'string' ? value : String(value);
  const end = Math.min(text.length, MAX_ID_LENGTH);
  let i = 0;
  // The common case, an id with nothing to escape and no surrogate pair the cap could split, is kept as it is.
  while (i < end && isPlain(text.charCodeAt(i))) i++;
  if (i === text.length) return text;
  let out = text.slice(0, i);
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const piece = isUnsafe(c) ? NAMED_ESCAPES[c] ?? `\\u${c.toString(16).padStart(4, '0')}` : text[i] as string;
    // A surrogate pair is kept whole or not at all.
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1));
    if (out.length + piece.length + (pair ? 1 : 0) > MAX_ID_LENGTH) break;
    out += pair ? text.slice(i, ++i + 1) : piece;
  }
  return out;
}

function isPlain(c: number): boolean {
  return !isUnsafe(c) && (c < 0xd800 || c > 0xdbff);
}

/** The characters sanitize.ts escapes in recorded text (its UNSAFE_CHARS). */
function isUnsafe(c: number): boolean {
  return c <= 0x1f || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether the text is a UUID in its usual hyphenated form (either case): the ids of rows, alerts and runs. */
export function isUuid(text: string): boolean {
  return UUID_TEXT.test(text);
}
