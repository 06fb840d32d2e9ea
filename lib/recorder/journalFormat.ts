import { createHash } from 'node:crypto';
import type { ActivityEvent } from '../types';
import { messageOf } from '../util/messageOf';

/**
 * One journal record frames one batch:
 *
 *   offset 0   4 bytes  magic "ATJ1"
 *   offset 4   4 bytes  payload length, unsigned big-endian
 *   offset 8   8 bytes  the first 8 bytes of SHA-256(payload)
 *   offset 16  payload  UTF-8 JSON: the batch's events as an array
 *
 * A record counts only when all of it is there and its checksum matches, so a write the process
 * died in the middle of (a torn write) is recognized and never replayed as data.
 */
export const RECORD_MAGIC = Buffer.from('ATJ1', 'latin1');
export const HEADER_BYTES = 16;
/** Far above any real batch (2000 events of at most a few tens of kilobytes); a larger length is corruption. */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

/** Frames a batch already serialized as `JSON.stringify(events)` (the same text the database is sent). */
export function encodeRecord(json: string): Buffer {
  const payload = Buffer.from(json, 'utf8');
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  RECORD_MAGIC.copy(header, 0);
  header.writeUInt32BE(payload.length, 4);
  checksum(payload).copy(header, 8);
  return Buffer.concat([header, payload]);
}

export type HeaderCheck = { ok: true; payloadBytes: number } | { ok: false; reason: string };

export function checkHeader(header: Buffer): HeaderCheck {
  if (header.length < HEADER_BYTES) return { ok: false, reason: `incomplete header (${header.length} of ${HEADER_BYTES} bytes)` };
  if (!header.subarray(0, 4).equals(RECORD_MAGIC)) return { ok: false, reason: 'no record starts here' };
  const payloadBytes = header.readUInt32BE(4);
  if (payloadBytes > MAX_PAYLOAD_BYTES) return { ok: false, reason: `implausible length ${payloadBytes}` };
  return { ok: true, payloadBytes };
}

export type PayloadCheck = { ok: true; events: ActivityEvent[] } | { ok: false; reason: string };

export function decodePayload(header: Buffer, payload: Buffer, expectedBytes: number): PayloadCheck {
  if (payload.length < expectedBytes) return { ok: false, reason: `incomplete payload (${payload.length} of ${expectedBytes} bytes)` };
  if (!checksum(payload).equals(header.subarray(8, 16))) return { ok: false, reason: 'checksum mismatch' };
  let events: unknown;
  const json = payload.toString('utf8');
  try {
    events = JSON.parse(json);
  } catch (error) {
    return { ok: false, reason: `unreadable payload: ${messageOf(error)}` };
  }
  if (!Array.isArray(events) || events.some((e) => typeof e !== 'object' || e === null || typeof (e as { id?: unknown }).id !== 'string')) {
    return { ok: false, reason: 'payload is not a list of events' };
  }
  return { ok: true, events: events as ActivityEvent[] };
}

function checksum(payload: Buffer): Buffer {
  return createHash('sha256').update(payload).digest().subarray(0, 8);
}
