/**
 * Payment card numbers in free text, found by one left-to-right pass (no regular expression, so
 * nothing can backtrack): runs of digits in which neighbouring digits are at most two separators
 * apart (`4111 1111 1111 1111`, `4111-1111-…`, `4111.1111.…`, `4111  1111  …`).
 */

import { TextEdits } from './textEdits';

/** A card has at least this many digits. */
export const MIN_CARD_DIGITS = 13;
const MAX_CARD_DIGITS = 19;
/** More separators than this between two digits end a run. */
export const MAX_CARD_SEPARATORS = 2;

export function isCardSeparator(c: number): boolean {
  return c === 0x20 || c === 0x2d || c === 0x2e; // space, '-', '.'
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Replaces every card in s by `redacted`; returns s itself when there is none. */
export function redactCards(s: string, redacted: string): string {
  const edits = new TextEdits(s);
  const starts: number[] = [];
  const ends: number[] = [];
  let i = 0;
  while (i < s.length) {
    if (!isDigit(s.charCodeAt(i))) {
      i++;
      continue;
    }
    // One run: its groups of digits and where each starts and ends.
    starts.length = 0;
    ends.length = 0;
    let digits = 0;
    let at = i;
    for (;;) {
      const groupStart = at;
      while (at < s.length && isDigit(s.charCodeAt(at))) at++;
      starts.push(groupStart);
      ends.push(at);
      digits += at - groupStart;
      let gap = at;
      while (gap < s.length && gap - at < MAX_CARD_SEPARATORS + 1 && isCardSeparator(s.charCodeAt(gap))) gap++;
      if (gap === at || gap - at > MAX_CARD_SEPARATORS || gap >= s.length || !isDigit(s.charCodeAt(gap))) break;
      at = gap;
    }
    const runEnd = at;
    if (digits >= MIN_CARD_DIGITS && !insideUuid(s, i, runEnd)) {
      for (let first = 0; first < starts.length; first++) {
        const last = findCardSpan(s, starts, ends, first);
        if (last < 0) continue;
        edits.replace(starts[first] ?? edits.copied, ends[last] ?? edits.copied, redacted);
        first = last;
      }
    }
    i = runEnd;
  }
  return edits.result();
}

/**
 * Index of the last group of the longest card starting at group `first`, or -1. A run may hold a
 * card plus neighbouring numbers ("4111 1111 1111 1111 123"), so spans of whole groups are tried,
 * longest first; at most 19 digits, so the work per group is bounded.
 */
function findCardSpan(s: string, starts: readonly number[], ends: readonly number[], first: number): number {
  let digits = '';
  let last = first - 1;
  for (let next = last + 1; next < starts.length; next = last + 1) {
    const group = s.slice(starts[next], ends[next]);
    if (digits.length + group.length > MAX_CARD_DIGITS) break;
    digits += group;
    last = next;
    // Cards are written in blocks of 4+ digits ("4111 1111 …", "3782 822463 10005"),
    // only the final block may be shorter; date ranges and lists of small numbers are not.
    if (group.length < 4) break;
  }
  for (; last >= first && digits.length >= MIN_CARD_DIGITS; last--) {
    if (isCardDigits(digits)) return last;
    digits = digits.slice(0, digits.length - ((ends[last] ?? 0) - (starts[last] ?? 0)));
  }
  return -1;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/** Lengths of the hex groups of a UUID (8-4-4-4-12). */
const UUID_GROUPS = [8, 4, 4, 4, 12];

/** Whether a UUID starts at `at`. */
function uuidAt(s: string, at: number): boolean {
  let i = at;
  for (let g = 0; g < UUID_GROUPS.length; g++) {
    if (g > 0) {
      if (s.charCodeAt(i) !== 0x2d) return false;
      i++;
    }
    const end = i + (UUID_GROUPS[g] ?? 0);
    for (; i < end; i++) if (!isHex(s.charCodeAt(i))) return false;
  }
  return true;
}

/**
 * The digits of a UUID can pass the Luhn check, which must not cost an audit row its entity id.
 * (Digits glued to other letters are still checked: a card hidden inside a word is a card.)
 * A UUID is 36 characters, so only starts up to 36 before the run need trying.
 */
function insideUuid(s: string, start: number, end: number): boolean {
  for (let at = Math.max(0, end - 36); at <= start; at++) {
    if (uuidAt(s, at)) return true;
  }
  return false;
}

/**
 * Luhn alone flags one in ten random numbers. Issuers never start a card with
 * 0 or 1 (UATP airline cards aside), which also rules out every millisecond
 * or microsecond timestamp until the year 2286.
 */
export function isCardDigits(digits: string): boolean {
  if (digits.length < MIN_CARD_DIGITS || digits.length > MAX_CARD_DIGITS || digits.charCodeAt(0) < 0x32 /* '2' */) return false;
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
export function isCardNumber(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1e12 && isCardDigits(String(n));
}
