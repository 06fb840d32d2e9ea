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
