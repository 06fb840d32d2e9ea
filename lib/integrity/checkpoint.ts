import { createHash, createHmac, createPrivateKey, createPublicKey, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { ActivityTrackingError } from '../errors';
import type { Database } from '../store/database';
import { chainHead } from '../store/chain/head';

export type CheckpointAlgorithm = 'HMAC-SHA256' | 'Ed25519';

/**
 * A signed statement "the chain had this hash at this position at this time". Kept outside the
 * database (a file, a ticket, another system), it lets `verifyChain` detect what the chain alone
 * cannot: rows removed from its end, or the whole chain rewritten from some row on.
 */
export interface SignedCheckpoint {
  /** Chain position of the head when the checkpoint was taken (0: the chain never had a row). */
  position: number;
  /** row_hash of the row at `position` (64 zeros for an empty chain): the hash the next row links to. */
  hash: string;
  /** ISO 8601 time the checkpoint was taken. */
  createdAt: string;
  algorithm: CheckpointAlgorithm;
  /**
   * Which key signed it ({@link checkpointKeyId}), signed with the rest. Lets a check with another
   * key say so (`checkpoint_key_mismatch`) instead of calling the checkpoint altered. Checkpoints
   * made before key ids have none, and still verify.
   */
  keyId?: string;
  /** base64url signature of {@link checkpointText}. */
  signature: string;
}

/**
 * Keys for signing and checking checkpoints; when not given, read from the environment:
 * ACTIVITY_CHECKPOINT_KEY (HMAC secret), ACTIVITY_CHECKPOINT_PRIVATE_KEY (Ed25519 PEM, signs and
 * verifies), ACTIVITY_CHECKPOINT_PUBLIC_KEY (Ed25519 PEM, verifies only).
 */
export interface CheckpointKey {
  /** HMAC-SHA256 secret, at least 16 characters. */
  hmacSecret?: string;
  /** Ed25519 private key (PEM or KeyObject); its public half verifies. */
  privateKey?: string | KeyObject;
  /** Ed25519 public key (PEM or KeyObject), enough to verify. */
  publicKey?: string | KeyObject;
}

interface ResolvedKey {
  hmacSecret?: string;
  privateKey?: KeyObject;
  publicKey?: KeyObject;
}

const ENV_NAMES = { hmacSecret: 'ACTIVITY_CHECKPOINT_KEY', privateKey: 'ACTIVITY_CHECKPOINT_PRIVATE_KEY', publicKey: 'ACTIVITY_CHECKPOINT_PUBLIC_KEY' } as const;
const HOW_TO_SET = `set ${ENV_NAMES.hmacSecret} to a random secret of at least 16 characters (HMAC-SHA256), `
  + `or ${ENV_NAMES.privateKey} to an Ed25519 private key in PEM (${ENV_NAMES.publicKey} alone is enough to verify)`;

/** The exact text a checkpoint signs: version 2 with a key id, version 1 (older checkpoints) without. */
export function checkpointText(checkpoint: Pick<SignedCheckpoint, 'position' | 'hash' | 'createdAt' | 'keyId'>): string {
  const signed = `${checkpoint.position}:${checkpoint.hash}:${checkpoint.createdAt}`;
  return checkpoint.keyId === undefined ? `activity-tracking-checkpoint:v1:${signed}` : `activity-tracking-checkpoint:v2:${signed}:${checkpoint.keyId}`;
}

/** What an HMAC key id is computed from: a fixed text no checkpoint ever signs. */
const HMAC_KEY_ID_TEXT = 'activity-tracking checkpoint key id';
const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;

/**
 * A short public name for a checkpoint key, 16 hex digits: for HMAC-SHA256, the start of
 * HMAC(secret, "activity-tracking checkpoint key id") (it says no more about the secret than a
 * signature does); for Ed25519, the start of the SHA-256 of the public key (DER, SubjectPublicKeyInfo),
 * the same for the private key and its public half.
 */
export function checkpointKeyId(algorithm: CheckpointAlgorithm, key: string | KeyObject): string {
  if (algorithm === 'HMAC-SHA256') return createHmac('sha256', key as string).update(HMAC_KEY_ID_TEXT).digest('hex').slice(0, 16);
  const publicKey = (key as KeyObject).type === 'private' ? createPublicKey(key as KeyObject) : key as KeyObject;
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16);
}

/**
 * Signs the current head of the chain: the one the next appended row follows (`chainHead`, the
 * append function's own rule). Uses the Ed25519 private key when one is configured, else the HMAC
 * secret. Throws ERR_AT_CHECKPOINT_KEY naming the variable to set when no key can sign. It signs
 * what is stored: run `verifyChain` first to know the chain up to here is intact (with no row left,
 * the head is the end of the last run in activity_retention, and a run no chained record backs is
 * reported there as retention_forged).
 */
export async function createCheckpoint(db: Database, key?: CheckpointKey, now: Date = new Date()): Promise<SignedCheckpoint> {
  const keys = resolveCheckpointKey(key);
  if (keys.privateKey === undefined && keys.hmacSecret === undefined) {
    throw keyError(`A public key can only verify checkpoints. Fix: to sign, set ${key ? 'privateKey or hmacSecret' : `${ENV_NAMES.privateKey} or ${ENV_NAMES.hmacSecret}`}`);
  }
  const head = await chainHead(db);
  const base = { position: Number(head.position), hash: head.hash, createdAt: now.toISOString() };
  if (keys.privateKey !== undefined) {
    const unsigned = { ...base, algorithm: 'Ed25519' as const, keyId: checkpointKeyId('Ed25519', keys.privateKey) };
    return { ...unsigned, signature: sign(null, Buffer.from(checkpointText(unsigned), 'utf8'), keys.privateKey).toString('base64url') };
  }
  const secret = keys.hmacSecret as string;
  const unsigned = { ...base, algorithm: 'HMAC-SHA256' as const, keyId: checkpointKeyId('HMAC-SHA256', secret) };
  return { ...unsigned, signature: hmac(secret, Buffer.from(checkpointText(unsigned), 'utf8')) };
}

/**
 * `bad_checkpoint`: malformed, or its content changed after it was signed. `checkpoint_key_mismatch`:
 * it names a key other than the one given, so nothing can be said about its content with this key.
 */
export type CheckpointCheck =
  | { valid: true; checkpoint: SignedCheckpoint }
  | { valid: false; problem: 'bad_checkpoint' | 'checkpoint_key_mismatch'; reason: string; checkpoint?: SignedCheckpoint };

/**
 * Checks a checkpoint's form and signature (not the database: `verifyChain` compares it with the
 * chain). A checkpoint whose key id is not the given key's is `checkpoint_key_mismatch`; one that
 * is malformed, or whose signature does not match its content, `bad_checkpoint` (for a checkpoint
 * without a key id, made by an earlier version, that is also what another key gives). A missing
 * key for the checkpoint's algorithm throws ERR_AT_CHECKPOINT_KEY, since that is a setup problem.
 */
export function verifyCheckpoint(checkpoint: unknown, key?: CheckpointKey): CheckpointCheck {
  const parsed = parseCheckpoint(checkpoint);
  if (typeof parsed === 'string') return { valid: false, problem: 'bad_checkpoint', reason: parsed };
  const keys = resolveCheckpointKey(key);
  let verifier: { keyId: string; verifies: (text: Buffer) => boolean; keyName: string };
  if (parsed.algorithm === 'HMAC-SHA256') {
    if (keys.hmacSecret === undefined) throw keyError(`The checkpoint is signed with HMAC-SHA256. Fix: set ${key ? 'hmacSecret' : ENV_NAMES.hmacSecret} to the secret that signed it`);
    const secret = keys.hmacSecret;
    verifier = { keyId: checkpointKeyId('HMAC-SHA256', secret), verifies: (text) => hmacMatches(secret, text, parsed.signature), keyName: key ? 'hmacSecret' : ENV_NAMES.hmacSecret };
  } else {
    const publicKey = keys.publicKey ?? (keys.privateKey ? createPublicKey(keys.privateKey) : undefined);
    if (publicKey === undefined) throw keyError(`The checkpoint is signed with Ed25519. Fix: set ${key ? 'publicKey' : ENV_NAMES.publicKey} to the public key of the signer`);
    verifier = { keyId: checkpointKeyId('Ed25519', publicKey), verifies: (text) => ed25519Verifies(text, publicKey, parsed.signature), keyName: key ? 'publicKey' : ENV_NAMES.publicKey };
  }
  if (parsed.keyId !== undefined && parsed.keyId !== verifier.keyId) {
    return {
      valid: false, problem: 'checkpoint_key_mismatch', checkpoint: parsed,
      reason: `The checkpoint was signed with the ${parsed.algorithm} key whose id is ${parsed.keyId}, but the configured key's id is ${verifier.keyId}, so it cannot be checked. `
        + `Fix: set ${verifier.keyName} to the key that signed it (a mistyped or rotated key gives another id); if that is the key configured, the checkpoint's keyId was changed: do not trust it`,
    };
  }
  if (verifier.verifies(Buffer.from(checkpointText(parsed), 'utf8'))) return { valid: true, checkpoint: parsed };
  return {
    valid: false, problem: 'bad_checkpoint',
    reason: parsed.keyId !== undefined
      ? `The ${parsed.algorithm} signature does not match the checkpoint content, though it names the configured key: the checkpoint was changed after it was signed`
      : `The ${parsed.algorithm} signature does not match the checkpoint content and the configured key. The checkpoint names no key (it was made before key ids), so it cannot be told whether it was changed or signed with another key: check that the key is the one that signed it`,
  };
}

/** Whether any ACTIVITY_CHECKPOINT_* variable is set (to check it, `resolveCheckpointKey()`). */
export function checkpointKeyInEnvironment(env: NodeJS.ProcessEnv = process.env): boolean {
  return Object.values(ENV_NAMES).some((name) => Boolean(env[name]));
}

/** The keys given, else those in the environment; throws ERR_AT_CHECKPOINT_KEY when none or a bad one is set. */
export function resolveCheckpointKey(key?: CheckpointKey, env: NodeJS.ProcessEnv = process.env): ResolvedKey {
  const fromEnv = key === undefined;
  const raw: CheckpointKey = key ?? {
    ...(env[ENV_NAMES.hmacSecret] ? { hmacSecret: env[ENV_NAMES.hmacSecret] } : {}),
    ...(env[ENV_NAMES.privateKey] ? { privateKey: env[ENV_NAMES.privateKey] } : {}),
    ...(env[ENV_NAMES.publicKey] ? { publicKey: env[ENV_NAMES.publicKey] } : {}),
  };
  const name = (field: keyof CheckpointKey): string => (fromEnv ? ENV_NAMES[field] : field);
  const resolved: ResolvedKey = {};
  if (raw.hmacSecret !== undefined) {
    if (typeof raw.hmacSecret !== 'string' || raw.hmacSecret.length < 16) throw keyError(`${name('hmacSecret')} is too short. Fix: use a random secret of at least 16 characters (32 or more recommended)`);
    resolved.hmacSecret = raw.hmacSecret;
  }
  if (raw.privateKey !== undefined) resolved.privateKey = ed25519Key(raw.privateKey, 'private', name('privateKey'));
  if (raw.publicKey !== undefined) resolved.publicKey = ed25519Key(raw.publicKey, 'public', name('publicKey'));
  if (resolved.privateKey && resolved.publicKey && !samePublicKey(createPublicKey(resolved.privateKey), resolved.publicKey)) {
    throw keyError(`${name('publicKey')} is not the public half of ${name('privateKey')}. Fix: derive it with \`openssl pkey -pubout\`, or leave it unset`);
  }
  if (!resolved.hmacSecret && !resolved.privateKey && !resolved.publicKey) {
    throw keyError(fromEnv ? `No checkpoint key is configured. Fix: ${HOW_TO_SET}` : 'No checkpoint key was given. Fix: pass hmacSecret, privateKey or publicKey');
  }
  return resolved;
}

function ed25519Key(value: string | KeyObject, kind: 'private' | 'public', name: string): KeyObject {
  let key: KeyObject;
  try {
    // Environment variables often carry a PEM with its line breaks written as \n.
    const pem = typeof value === 'string' ? value.replace(/\\n/g, '\n') : value;
    key = typeof pem === 'string' ? (kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem)) : pem;
  } catch {
    throw keyError(`${name} is not a PEM-encoded key. Fix: generate one with \`openssl genpkey -algorithm ed25519\`${kind === 'public' ? ' and `openssl pkey -pubout`' : ''}`);
  }
  if (key.asymmetricKeyType !== 'ed25519' || key.type !== kind) {
    throw keyError(`${name} must be an Ed25519 ${kind} key. Fix: generate one with \`openssl genpkey -algorithm ed25519\`${kind === 'public' ? ' and `openssl pkey -pubout`' : ''}`);
  }
  return key;
}

function ed25519Verifies(text: Buffer, publicKey: KeyObject, signature: string): boolean {
  try {
    return verify(null, text, publicKey, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ format: 'der', type: 'spki' }).equals(b.export({ format: 'der', type: 'spki' }));
}

function hmac(secret: string, text: Buffer): string {
  return createHmac('sha256', secret).update(text).digest('base64url');
}

function hmacMatches(secret: string, text: Buffer, signature: string): boolean {
  const expected = Buffer.from(hmac(secret, text));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function keyError(message: string): ActivityTrackingError {
  return new ActivityTrackingError('ERR_AT_CHECKPOINT_KEY', message);
}

/** The checkpoint, or why it is malformed. Only canonical forms pass, so one checkpoint has one text and one signature. */
function parseCheckpoint(value: unknown): SignedCheckpoint | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'A checkpoint is a JSON object with position, hash, createdAt, algorithm, keyId and signature';
  const { position, hash, createdAt, algorithm, keyId, signature } = value as Record<string, unknown>;
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0) return '"position" must be a whole number, 0 or more';
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) return '"hash" must be 64 lowercase hex digits';
  if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)) || new Date(createdAt).toISOString() !== createdAt) return '"createdAt" must be an ISO 8601 time such as 2026-11-25T10:00:00.000Z';
  if (algorithm !== 'HMAC-SHA256' && algorithm !== 'Ed25519') return '"algorithm" must be HMAC-SHA256 or Ed25519';
  if (keyId !== undefined && (typeof keyId !== 'string' || !KEY_ID_PATTERN.test(keyId))) return '"keyId" must be 16 lowercase hex digits';
  if (typeof signature !== 'string' || !/^[A-Za-z0-9_-]{1,200}$/.test(signature) || Buffer.from(signature, 'base64url').toString('base64url') !== signature) {
    return '"signature" must be base64url';
  }
  return { position, hash, createdAt, algorithm, ...(keyId === undefined ? {} : { keyId: keyId as string }), signature };
}

