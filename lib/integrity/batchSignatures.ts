import { createHash, createHmac, createPublicKey, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { ActivityTrackingError } from '../errors';
import { resolveCheckpointKey, type CheckpointAlgorithm } from './checkpoint';
import { messageOf } from '../util/messageOf';
import type { Database } from '../store/database';
import { chainHead } from '../store/chain/head';
import { firstPosition } from '../store/chain/rows';
import { insertSignature, signaturesAfter, type StoredSignature } from '../store/chain/signatures';

/**
 * The writer's key (option `signingKey`, env ACTIVITY_SIGNING_KEY): an HMAC-SHA256 secret of at
 * least 16 characters, or an Ed25519 key in PEM. The private key (or the secret) signs; the public
 * key alone only verifies.
 */
export type SigningKeyInput = string | KeyObject;

export interface BatchSigningKey {
  algorithm: CheckpointAlgorithm;
  /** Names the key without revealing it, so signatures by another key are told apart from forged ones. */
  keyId: string;
  /** Undefined for a public key: it can check signatures, not make them. */
  sign: ((text: Buffer) => string) | undefined;
  verify(text: Buffer, signature: string): boolean;
}

export const SIGNING_KEY_ENV = 'ACTIVITY_SIGNING_KEY';

/** The exact text a batch signature signs; its prefix keeps it from ever passing for a checkpoint's. */
export function batchSignatureText(firstPosition: number | bigint | string, position: number | bigint | string, rowHash: string): Buffer {
  return Buffer.from(`activity-tracking-batch:v1:${String(firstPosition)}:${String(position)}:${rowHash}`, 'utf8');
}

/**
 * Reads a signing key; `name` is the option or variable it came from, named in errors. The key
 * handling is the checkpoints': a PEM is an Ed25519 key (private or public), anything else an
 * HMAC secret. Throws ERR_AT_SIGNING_KEY with the fix when the key is unusable.
 */
export function resolveSigningKey(value: unknown, name: string = 'signingKey'): BatchSigningKey {
  if (isResolved(value)) return value;
  if (typeof value !== 'string' && !isKeyObject(value)) throw signingKeyError(`${name} must be a string (an HMAC secret or an Ed25519 PEM) or a KeyObject`);
  const isPem = typeof value === 'string' && value.includes('-----BEGIN');
  const isPublic = isKeyObject(value) ? value.type === 'public' : isPem && /-----BEGIN PUBLIC KEY-----/.test(value.replace(/\\n/g, '\n'));
  let resolved: ReturnType<typeof resolveCheckpointKey>;
  try {
    resolved = resolveCheckpointKey(isPem || isKeyObject(value) ? (isPublic ? { publicKey: value } : { privateKey: value }) : { hmacSecret: value as string });
  } catch (error) {
    // The checkpoint key's message names its own fields; this key has one name.
    const reason = messageOf(error, { withoutCode: true }).replace(/\b(hmacSecret|privateKey|publicKey)\b/g, name);
    throw signingKeyError(reason);
  }
  if (resolved.hmacSecret !== undefined) {
    const secret = resolved.hmacSecret;
    return {
      algorithm: 'HMAC-SHA256',
      keyId: `hmac:${createHmac('sha256', secret).update('activity-tracking-key-id').digest('hex').slice(0, 16)}`,
      sign: (text) => hmac(secret, text),
      verify: (text, signature) => {
        const expected = Buffer.from(hmac(secret, text));
        const given = Buffer.from(signature);
        return expected.length === given.length && timingSafeEqual(expected, given);
      },
    };
  }
  const privateKey = resolved.privateKey;
  const publicKey = resolved.publicKey ?? createPublicKey(privateKey as KeyObject);
  return {
    algorithm: 'Ed25519',
    keyId: `ed25519:${createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16)}`,
    sign: privateKey ? (text) => sign(null, text, privateKey).toString('base64url') : undefined,
    verify: (text, signature) => {
      try {
        return verify(null, text, publicKey, Buffer.from(signature, 'base64url'));
      } catch {
        return false;
      }
    },
  };
}

/** The key a process writes with: from the option, else ACTIVITY_SIGNING_KEY; null when neither is set. */
export function signingKeyFromEnvironment(env: NodeJS.ProcessEnv = process.env): BatchSigningKey | null {
  const value = env[SIGNING_KEY_ENV];
  return value ? resolveSigningKey(value, SIGNING_KEY_ENV) : null;
}

/** A key that can sign, or a start-up error naming what to give instead. */
export function writerKey(key: BatchSigningKey, name: string): BatchSigningKey & { sign: (text: Buffer) => string } {
  if (key.sign === undefined) {
    throw signingKeyError(`${name} is an Ed25519 public key, which can only verify. Fix: give the writer the private key (\`openssl genpkey -algorithm ed25519\`); keep the public key for verify`);
  }
  return key as BatchSigningKey & { sign: (text: Buffer) => string };
}

/** The rows one batch appended: positions first to last, and the last one's hash. */
export interface AppendedBatch {
  firstPosition: number | string;
  position: number | string;
  rowHash: string;
}

/**
 * Signs a batch: the caller appended it in `trx` and still holds the chain lock, so no other row
 * is between its first and last position. The signature covers exactly those rows (the last hash
 * pins their content through the chain links), so a row someone slips in between two batches is
 * in no signed range.
 */
export async function signBatch(trx: Database, key: BatchSigningKey, batch: AppendedBatch | undefined): Promise<void> {
  if (batch === undefined || key.sign === undefined) return;
  const signature = key.sign(batchSignatureText(batch.firstPosition, batch.position, batch.rowHash));
  await insertSignature(trx, {
    firstPosition: String(batch.firstPosition), position: String(batch.position), rowHash: batch.rowHash, algorithm: key.algorithm, keyId: key.keyId, signature,
  });
}

/**
 * Signs the rows appended after position `before` (the chain head read before the append) in a
 * transaction that holds the chain lock: they run to the head now. Nothing when none were appended.
 */
export async function signAppendedAfter(trx: Database, key: BatchSigningKey, before: bigint): Promise<void> {
  const head = await chainHead(trx);
  await signBatch(trx, key, head.position > before ? { firstPosition: (before + 1n).toString(), position: head.position.toString(), rowHash: head.hash } : undefined);
}

/** Signatures read per query. */
const SIGNATURE_PAGE = 1000;

/**
 * Checks that every row up to `verifiedTo` (the head of a chain `verifyChain` found intact) lies in
 * a batch signed with `key`: a signature that verifies and whose row_hash is the one stored at its
 * last position (through the chain links that fixes every row of the batch). Rows before the first
 * signed batch were stored before a key was configured and are accepted. Signatures made without
 * the key are skipped, never trusted. Reads the signatures in position order, a page at a time.
 */
export async function checkBatchSignatures(db: Database, key: BatchSigningKey, verifiedTo: number | null): Promise<{ position: number; problem: 'unsigned_rows'; message: string } | undefined> {
  if (verifiedTo === null) return undefined;
  const head = BigInt(verifiedTo);
  const firstKept = (await firstPosition(db)) ?? head;
  /** The last position covered so far: by pre-key history, then by signed batches; null before the first valid signature. */
  let coveredTo: bigint | null = null;
  let rejected = 0;
  let after = { position: '-1', signature: '' };
  for (;;) {
    const found = await signaturesAfter(db, after, head, SIGNATURE_PAGE);
    for (const row of found) {
      const first = BigInt(row.firstPosition);
      const last = BigInt(row.position);
      const valid = row.algorithm === key.algorithm && row.keyId === key.keyId && first <= last
        && key.verify(batchSignatureText(row.firstPosition, row.position, row.rowHash), row.signature);
      // A signature of a row retention removed covers nothing kept; one whose row changed would have failed the chain.
      if (!valid || (row.storedHash !== null && row.storedHash !== row.rowHash)) {
        rejected += 1;
        continue;
      }
      if (coveredTo === null) coveredTo = first - 1n;
      const gapStart = coveredTo + 1n > firstKept ? coveredTo + 1n : firstKept;
      if (first > gapStart) return unsigned(gapStart, first - 1n, key, rejected);
      if (last > coveredTo) coveredTo = last;
    }
    if (found.length < SIGNATURE_PAGE) break;
    after = found[found.length - 1] as StoredSignature;
  }
  if (coveredTo === null) return unsigned(firstKept, head, key, rejected);
  const gapStart = coveredTo + 1n > firstKept ? coveredTo + 1n : firstKept;
  return gapStart <= head ? unsigned(gapStart, head, key, rejected) : undefined;
}

function unsigned(from: bigint, to: bigint, key: BatchSigningKey, rejected: number): { position: number; problem: 'unsigned_rows'; message: string } {
  const rows = from === to ? `The row at position ${from} is` : `The rows from position ${from} to ${to} are`;
  const skipped = rejected > 0 ? ` (${rejected} signature${rejected === 1 ? '' : 's'} in the table did not verify with it)` : '';
  return {
    position: Number(from), problem: 'unsigned_rows',
    message: `${rows} not in any batch signed with key ${key.keyId}${skipped}: added without the writer's key, outside the package or by a process not given ${SIGNING_KEY_ENV}`,
  };
}

function hmac(secret: string, text: Buffer): string {
  return createHmac('sha256', secret).update(text).digest('base64url');
}

function isResolved(value: unknown): value is BatchSigningKey {
  return typeof value === 'object' && value !== null && typeof (value as BatchSigningKey).keyId === 'string' && typeof (value as BatchSigningKey).verify === 'function';
}

function isKeyObject(value: unknown): value is KeyObject {
  return typeof value === 'object' && value !== null && typeof (value as KeyObject).export === 'function' && typeof (value as KeyObject).type === 'string';
}

function signingKeyError(message: string): ActivityTrackingError {
  return new ActivityTrackingError('ERR_AT_SIGNING_KEY', message);
}
