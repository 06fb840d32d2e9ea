/**
 * The checks every feature's options resolver is made of. Each failure is an ActivityTrackingError
 * that names the option (or environment variable), the value and the fix.
 */
import { ActivityTrackingError } from '../errors';

/** Stands for a secret in messages, so that a misconfigured secret is never printed. */
export const HIDDEN = Symbol('hidden');

export function invalid(name: string, value: unknown, fix: string): ActivityTrackingError {
  return new ActivityTrackingError('ERR_AT_INVALID_OPTION', `Invalid ${name}: ${describe(value)}. Fix: ${fix}.`);
}

export function unknownOption(key: string, known: readonly string[]): ActivityTrackingError {
  const guess = closest(key, known);
  return new ActivityTrackingError('ERR_AT_UNKNOWN_OPTION',
    `Unknown option "${key}". ${guess ? `Did you mean "${guess}"? ` : ''}Known options: ${known.join(', ')}.`);
}

/** Refuses the first key of `given` that is not `known`; `prefix` is the group's name (`journal`), none at the top level. */
export function checkKnownKeys(given: object, known: readonly string[], prefix?: string): void {
  const named = prefix === undefined ? known : known.map((k) => `${prefix}.${k}`);
  for (const key of Object.keys(given)) {
    if (!known.includes(key)) throw unknownOption(prefix === undefined ? key : `${prefix}.${key}`, named);
  }
}

/** A secret refused for a reason that already says the fix (the secret itself is never printed). */
export function invalidSecret(name: string, reason: string): ActivityTrackingError {
  return new ActivityTrackingError('ERR_AT_INVALID_OPTION', `Invalid ${name}: ${describe(HIDDEN)}. ${reason}.`);
}

function describe(value: unknown): string {
  if (value === HIDDEN) return '[hidden]';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  try { return JSON.stringify(value).slice(0, 80); } catch { return 'an object'; }
}

export function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, value, `use a whole number from ${min} to ${max}`);
  }
}

export function checkFraction(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) throw invalid(name, value, 'use a number from 0 to 1');
}

export function checkBoolean(name: string, value: unknown): void {
  if (typeof value !== 'boolean') throw invalid(name, value, 'use true or false');
}

export function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') throw invalid(name, value, 'pass a function or leave it out');
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stringList(name: string, value: unknown, fallback: readonly string[]): string[] {
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
    throw invalid(name, value, 'pass an array of non-empty strings');
  }
  return [...(value as string[])];
}

/** A group of whole numbers, such as `retry`: each given one checked against its range, the rest defaulted. */
export function numberGroup<T extends { [K in keyof T]: number }>(name: string, value: Partial<T> | undefined, defaults: T, ranges: { [K in keyof T]: readonly [number, number] }): T {
  if (value === undefined) return { ...defaults };
  if (!isPlainObject(value)) throw invalid(name, value, `pass an object such as ${JSON.stringify(defaults)}`);
  checkKnownKeys(value, Object.keys(defaults), name);
  const result: T = { ...defaults };
  for (const [key, v] of Object.entries(value)) {
    const range = ranges[key as keyof T];
    checkInteger(`${name}.${key}`, v, range[0], range[1]);
    result[key as keyof T] = v as T[keyof T];
  }
  return result;
}

/** The option when given, else the environment variable (empty counts as unset), and the name to blame. */
export function optionOrEnv<T>(name: string, value: T | undefined, env: NodeJS.ProcessEnv, envName: string): { name: string; value: T | string | undefined } {
  if (value !== undefined) return { name, value };
  return { name: envName, value: env[envName] || undefined };
}

export function envInteger(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) {
    throw new ActivityTrackingError('ERR_AT_INVALID_ENV',
      `Invalid environment variable ${name}=${JSON.stringify(raw)}. Fix: set it to a whole number of at least ${min}, or unset it for the default ${fallback}.`);
  }
  return Number(raw);
}

export function envBoolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ActivityTrackingError('ERR_AT_INVALID_ENV',
    `Invalid environment variable ${name}=${JSON.stringify(env[name])}. Fix: set it to true or false, or unset it for the default ${fallback}.`);
}

/** A connection or webhook URL with its password hidden, for messages. */
export function redactUrl(url: string): string {
  // Anchored, so a value of any shape is read once (regexSafety.test.ts).
  return url.replace(/^([^/@]*\/\/[^:/@]+):[^@]*@/, '$1:[hidden]@');
}

function closest(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === key.toLowerCase() ? 0 : levenshtein(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) { best = candidate; bestDistance = distance; }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
