import { randomBytes } from 'node:crypto';

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

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds then random bits, so ids generated at
 * capture sort by time and keep the primary-key index append-mostly.
 */
export function uuidv7(now = Date.now()): string {
  const bytes = Buffer.from(random16());
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | ((bytes[6] ?? 0) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A random 128-bit identifier as 32 hex characters. */
export function randomId128(): string {
  return Buffer.from(random16()).toString('hex');
}
