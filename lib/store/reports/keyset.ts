import type { OrderBy, SortOrder } from './filters';
import { isUuid } from '../../util/ids';

/**
 * Where the next page of `/activities` starts: the last row's sort key, exact to the microsecond
 * (a JavaScript Date keeps milliseconds, and rows that differ below that would be skipped or shown
 * twice). Only non-null, indexed sort keys can be paged this way: start time and created time,
 * each with start time and id after them, which is the order the page is read in.
 */
export interface KeysetCursor {
  orderBy: KeysetOrderBy;
  order: SortOrder;
  /** created_at, for orderBy createdAt; absent for startTime. */
  createdAt?: string;
  startTime: string;
  id: string;
}

export const KEYSET_ORDER_BY = ['startTime', 'createdAt'] as const satisfies readonly OrderBy[];
export type KeysetOrderBy = typeof KEYSET_ORDER_BY[number];

const UTC_MICROSECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** Opaque to callers: base64url of a short JSON array. */
export function encodeCursor(cursor: KeysetCursor): string {
  const parts = [cursor.orderBy, cursor.order, cursor.startTime, cursor.id, ...(cursor.createdAt === undefined ? [] : [cursor.createdAt])];
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

/** The cursor, or null when the text is not one this package made. */
export function decodeCursor(text: string): KeysetCursor | null {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(parts) || parts.length < 4 || parts.length > 5 || !parts.every((part) => typeof part === 'string')) return null;
  const [orderBy, order, startTime, id, createdAt] = parts as string[];
  if (!(KEYSET_ORDER_BY as readonly string[]).includes(orderBy ?? '') || (order !== 'asc' && order !== 'desc')) return null;
  if (!UTC_MICROSECONDS.test(startTime ?? '') || !isUuid(id ?? '')) return null;
  if ((orderBy === 'createdAt') !== (createdAt !== undefined) || (createdAt !== undefined && !UTC_MICROSECONDS.test(createdAt))) return null;
  return { orderBy: orderBy as KeysetOrderBy, order, startTime: startTime as string, id: id as string, ...(createdAt === undefined ? {} : { createdAt }) };
}

/** A timestamptz column as the UTC text with microseconds that a cursor holds. */
export function cursorTextSql(column: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
