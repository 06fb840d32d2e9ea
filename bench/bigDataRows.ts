/**
 * The rows of the big-table bench, made in Node in time order: for each row, the writer's content
 * hash and its COPY text up to the chain columns, which bench/bigDataChain.ts links and completes.
 *
 * Same shape as bench/reportData.ts (its constants): sessions start evenly over `days` and last up
 * to two hours, each row belongs to a session that started in the two hours before it, picks an
 * activity type by its share, and so on; bursts of failed logins are merged in at their times. Time
 * order is made without a global sort: the span is cut into one-minute windows, each holding its
 * share of the rows, sorted within the window. A window's rows depend on nothing but its number
 * (its own seeded random numbers), so threads can build windows side by side.
 *
 * The content hash is the writer's (`wireRow`, lib/integrity/encodingV3.ts). The first row of each
 * batch also carries the texts PostgreSQL will give back for it, so the linking side can recompute
 * its row hash with `rowHashOf`, the function verifyChain uses.
 */
import crypto from 'node:crypto';
import { canonicalJson } from '../lib/integrity/canonicalJson';
import { wireRow } from '../lib/integrity/encodingV3';
import type { FieldValue } from '../lib/integrity/recordEncoding';
import { chainColumns, type WrittenColumn } from '../lib/store/columns';
import type { ActivityEvent, ActivityType, DeviceInfo, GeoLocation } from '../lib/types';
import {
  AGENTS, ATTACKER_IPS, BROWSERS, BURST_ATTEMPTS, BURST_SPACING_SECONDS, BURSTS, CITIES, COUNTRIES, DEVICES, ENTITY_IDS, ENTITY_TYPES,
  PAGES, REGIONS, SYSTEMS, TYPES, ZONES, type ReportDataOptions,
} from './reportData';

/** The content columns the rows set: encoding 1's, in its order (encoding 2's are all null here). */
const CONTENT: readonly WrittenColumn[] = chainColumns(1);

/** The columns each COPY line holds, in order. */
export const COPY_COLUMNS: readonly string[] = [...CONTENT.map((c) => c.column), 'created_at', 'chain_position', 'prev_hash', 'row_hash', 'hash_version'];

const WINDOW_MS = 60_000;
const SESSION_MS = 7_200_000;
/**
 * created_at is the row's start plus this. The database stores rows in chain order and reads its
 * clock as it does (migration 20261208000000_time_partitions), so created_at never goes back along
 * the chain; rows are chained here in start order, so created_at follows start, a flush later.
 * (It followed each row's end before, which put a long request's row in the next partition ahead
 * of shorter ones chained after it, a trail the database never makes.)
 */
const STORE_LAG_MS = 1000;

/** A row: the event the writer would send, and when the database stored it (epoch milliseconds). */
interface Row { event: ActivityEvent; createdAt: number }

/** A small seeded generator (mulberry32): the same data on every run, and far cheaper than crypto. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COPY_SPECIAL = /[\\\t\n\r]/;
/** Text as COPY's text format reads it: backslash, tab, newline and carriage return escaped. */
function copyText(value: string): string {
  return COPY_SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r')) : value;
}

/** One value in COPY text, by its column's type: what PostgreSQL parses back to the value the writer hashed. */
function copyValue(type: WrittenColumn['type'], value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  switch (type) {
    case 'timestamptz': return isoTime(value as number);
    case 'jsonb': return copyText(canonicalJson(value) ?? '\\N');
    case 'boolean': return value ? 't' : 'f';
    case 'text': case 'uuid': return copyText(value as string);
    // Numbers: JavaScript's shortest round-trip text, which float8in reads back to the same double.
    default: return String(value);
  }
}

/** The ISO text of the last second asked for, up to the milliseconds: rows come in time order, so most times fall in it. */
let isoSecond = Number.NaN;
let isoPrefix = '';
/** toISOString, a third of the cost: COPY reads three times a row. */
function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  return `${isoPrefix}${String(ms - second * 1000).padStart(3, '0')}Z`;
}

const floatBytes = Buffer.alloc(8);
/** A stored value as the verifier reads it back (recordEncoding.ts HASH_INPUT_COLUMNS). */
function storedText(type: WrittenColumn['type'], value: unknown): FieldValue {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'boolean': return value as boolean;
    case 'double precision': floatBytes.writeDoubleBE(value as number, 0); return floatBytes.toString('hex');
    case 'jsonb': return canonicalJson(value);
    default: return String(value);
  }
}

/** One row: the writer's content hash, and its COPY text up to (and with) the tab before chain_position. */
function rowParts(row: Row): { contentHash: string; prefix: string } {
  const wire = wireRow(row.event);
  const source = row.event as unknown as Record<string, unknown>;
  let prefix = '';
  for (const column of CONTENT) prefix += `${copyValue(column.type, source[column.field])}\t`;
  // The wire row starts with the writer's content hash: ["<64 hex>", ...
  return { contentHash: wire.slice(2, 66), prefix: `${prefix}${isoTime(row.createdAt)}\t` };
}

/** A stored row's hash inputs as verifyChain reads them, but for position and prev_hash. */
export interface SampleRow { v1: FieldValue[]; createdMs: string }

function sampleOf(row: Row): SampleRow {
  const source = row.event as unknown as Record<string, unknown>;
  return { v1: CONTENT.map((column) => storedText(column.type, source[column.field])), createdMs: String(row.createdAt) };
}

const pad4 = (n: number): string => String(n).padStart(4, '0');
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/** A UUID v7 made from the row's time, as the recorder makes them, so ids sort by time. */
function uuidV7(ms: number, random: () => number): string {
  const t = hex(ms, 12);
  const a = hex(Math.floor(random() * 0x1000), 3);
  const b = hex(Math.floor(random() * 0x1000000), 6) + hex(Math.floor(random() * 0x1000000), 6) + hex(Math.floor(random() * 0x1000), 3);
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${a}-8${b.slice(0, 3)}-${b.slice(3)}`;
}

/** What a session's rows share. */
interface Session { id: string; user: string; ip: string; b: number; c: number }

/** What the rows are made from, computed once (a session when first seen). */
interface Tables {
  thresholds: number[];
  sessions: Array<Session | undefined>;
  /** Frozen, as the capture's caches are: the writer serializes each once. */
  devices: DeviceInfo[];
  locations: GeoLocation[];
  /** Request details by entity id (0: none) and page of the query string, deeply frozen: the writer serializes each once. */
  details: Array<Record<string, unknown> | undefined>;
}

function tablesOf(o: ReportDataOptions): Tables {
  const total = TYPES.reduce((sum, t) => sum + t.share, 0);
  const thresholds: number[] = [];
  let cumulative = 0;
  for (const t of TYPES) {
    cumulative += t.share;
    thresholds.push(cumulative / total);
  }
  const devices = DEVICES.map((type, i) => Object.freeze({ type, vendor: i === 4 ? 'Apple' : null, model: i === 4 ? 'iPhone' : null }));
  const locations = COUNTRIES.map((country, i) => Object.freeze({ country, region: REGIONS[i] ?? null, city: CITIES[i] ?? null, timezone: ZONES[i] ?? null }));
  return { thresholds, sessions: new Array<Session | undefined>(o.sessions), devices, locations, details: [] };
}

function sessionOf(t: Tables, s: number, o: ReportDataOptions): Session {
  let session = t.sessions[s];
  if (session === undefined) {
    session = {
      id: crypto.createHash('md5').update(`session-${s}`).digest('hex'),
      user: `user-${pad4(s % o.users)}`,
      ip: `${11 + ((s * 7) % 200)}.${(s * 13) % 256}.${(s * 29) % 256}.${1 + ((s * 31) % 254)}`,
      b: s % 6,
      c: s % 8,
    };
    t.sessions[s] = session;
  }
  return session;
}

const HEADERS = Object.freeze({ accept: 'application/json, text/plain, */*', 'accept-language': 'en-US,en;q=0.9' });

function requestDetails(t: Tables, entityId: string | null, page: number): Record<string, unknown> {
  const key = (entityId === null ? 0 : Number(entityId)) * 5 + page;
  let details = t.details[key];
  if (details === undefined) {
    details = Object.freeze({
      params: Object.freeze(entityId === null ? {} : { id: entityId }),
      query: Object.freeze({ page: String(page), fields: 'name,price' }),
      headers: HEADERS,
    });
    t.details[key] = details;
  }
  return details;
}

const BURST_DEVICE: DeviceInfo = Object.freeze({ type: 'cli', vendor: null, model: null });
const BURST_LOCATION: GeoLocation = Object.freeze({ country: 'NL', region: 'NH', city: 'Amsterdam', timezone: 'Europe/Amsterdam' });

/** A failed-login burst row at `ms`, with its place in the bursts. */
export interface BurstRow { ms: number; burst: number; attempt: number }

function burstTimes(o: ReportDataOptions, n: number): BurstRow[] {
  const now = o.now.getTime();
  const span = o.days * 86_400_000;
  const rows: BurstRow[] = [];
  for (let g = 0; g < n; g += 1) {
    const burst = Math.floor(g / BURST_ATTEMPTS);
    const attempt = g % BURST_ATTEMPTS;
    rows.push({ ms: Math.round(now - ((burst / BURSTS) * span + 1_800_000) + attempt * BURST_SPACING_SECONDS * 1000), burst, attempt });
  }
  return rows.sort((x, y) => x.ms - y.ms);
}

function burstRow(b: BurstRow, o: ReportDataOptions, random: () => number): Row {
  const user = `user-${pad4((b.burst * 7 + b.attempt * 13) % o.users)}`;
  const duration = Math.round((40 + random() * 120) * 1000) / 1000;
  const end = b.ms + Math.round(duration);
  return {
    event: {
      id: uuidV7(b.ms, random), userId: user, sessionId: null, activityType: 'login_failed', entityType: null, entityId: null, action: 'login',
      details: { body: { username: user, password: '[REDACTED]' } },
      ipAddress: ATTACKER_IPS[b.burst % ATTACKER_IPS.length] as string, userAgent: 'python-requests/2.31.0', browser: 'python-requests 2.31.0', operatingSystem: null,
      deviceInfo: BURST_DEVICE, location: BURST_LOCATION,
      duration, startTime: b.ms, endTime: end, method: 'POST', path: '/api/auth/login', route: '/api/auth/login',
      statusCode: 401, success: false, requestSize: 64, responseSize: 48,
    },
    createdAt: b.ms + STORE_LAG_MS,
  };
}

/** One row of ordinary traffic at `ms` in session `s`; `g` is its number (it varies the query string). */
function trafficRow(ms: number, s: number, g: number, o: ReportDataOptions, t: Tables, random: () => number): Row {
  const rType = random();
  let k = 0;
  while (k < t.thresholds.length - 1 && rType >= (t.thresholds[k] as number)) k += 1;
  const spec = TYPES[k] as typeof TYPES[number];
  const rStatus = random();
  const rDur = random();
  const rSize = random();
  const entType = ENTITY_TYPES[Math.floor(random() * ENTITY_TYPES.length)] as string;
  const entId = String(1 + Math.floor(ENTITY_IDS * random() ** 3));
  const anonymous = random() < 0.05;
  const page = PAGES[Math.floor(random() * PAGES.length)] as string;
  const status = spec.status >= 400 ? spec.status
    : rStatus < 0.008 ? 401 : rStatus < 0.016 ? 403 : rStatus < 0.03 ? 404 : rStatus < 0.035 ? 400 : spec.status;
  const rawDuration = rDur < 0.015 ? 5000 + (rDur / 0.015) * 25000 : 2 + rDur ** 3 * 400;
  const duration = Math.round(rawDuration * 1000) / 1000;
  const end = ms + Math.round(duration);
  const session = sessionOf(t, s, o);
  const system = SYSTEMS[session.b] as string;
  return {
    event: {
      id: uuidV7(ms, random),
      userId: anonymous ? null : session.user,
      sessionId: session.id,
      activityType: spec.type as ActivityType,
      entityType: spec.entity ? entType : null,
      entityId: spec.entity ? entId : null,
      action: spec.action,
      details: requestDetails(t, spec.entity ? entId : null, (g % 5) + 1),
      ipAddress: session.ip,
      userAgent: AGENTS[session.b] as string,
      browser: BROWSERS[session.b] as string,
      operatingSystem: system === '' ? null : system,
      deviceInfo: t.devices[session.b] as DeviceInfo,
      location: t.locations[session.c] as GeoLocation,
      duration,
      startTime: ms,
      endTime: end,
      method: spec.method,
      path: spec.route.replace(':entity', entType).replace(':id', entId).replace(':page', page),
      route: spec.route.replace(':entity', entType),
      statusCode: status,
      success: status < 400,
      requestSize: spec.method === 'POST' || spec.method === 'PUT' ? 100 + Math.floor(rSize * 4000) : null,
      responseSize: rSize < 0.01 ? 11_000_000 + Math.floor((rSize / 0.01) * 40_000_000) : 200 + Math.floor(rSize ** 2 * 60_000),
    },
    createdAt: ms + STORE_LAG_MS,
  };
}

/** How many rows of ordinary traffic and of failed-login bursts a load of `rows` holds (as reportData.ts splits them). */
export function rowSplit(rows: number): { traffic: number; bursts: number } {
  const bursts = Math.min(BURSTS * BURST_ATTEMPTS, Math.floor(rows / 10));
  return { traffic: rows - bursts, bursts };
}

/** What the span is cut into and how many traffic rows end each window: the same on every thread. */
export interface Plan { start: number; span: number; windows: number; traffic: number; bursts: BurstRow[] }

export function planOf(o: ReportDataOptions): Plan {
  const { traffic, bursts } = rowSplit(o.rows);
  const span = o.days * 86_400_000;
  return { start: o.now.getTime() - span, span, windows: Math.ceil(span / WINDOW_MS), traffic, bursts: burstTimes(o, bursts) };
}

/** Traffic rows in windows 0 to w - 1. */
const trafficBefore = (plan: Plan, w: number): number => Math.round((plan.traffic * w) / plan.windows);

/** The rows of windows [from, to), in time order: content hashes (64 hex each, concatenated), COPY prefixes, and the first row's hash inputs. */
export interface Batch { hashes: string; prefixes: string[]; sample: SampleRow | null }

/** Tables of the options last seen: a thread builds many batches of one load. */
let memo: { key: string; tables: Tables } | undefined;

export function buildBatch(o: ReportDataOptions, plan: Plan, from: number, to: number): Batch {
  const key = `${o.sessions}/${o.users}`;
  if (memo?.key !== key) memo = { key, tables: tablesOf(o) };
  const tables = memo.tables;
  const now = o.now.getTime();
  let hashes = '';
  const prefixes: string[] = [];
  let sample: SampleRow | null = null;
  const add = (row: Row): void => {
    if (sample === null) sample = sampleOf(row);
    const parts = rowParts(row);
    hashes += parts.contentHash;
    prefixes.push(parts.prefix);
  };
  for (let w = from; w < to; w += 1) {
    const random = seededRandom(Math.imul(w + 1, 0x9e3779b1) ^ 4242);
    const windowStart = plan.start + w * WINDOW_MS;
    const windowEnd = w === plan.windows - 1 ? Number.POSITIVE_INFINITY : windowStart + WINDOW_MS;
    const bursts = plan.bursts.filter((b) => b.ms >= windowStart && b.ms < windowEnd);
    let nextBurst = 0;
    const first = trafficBefore(plan, w);
    const count = trafficBefore(plan, w + 1) - first;
    const width = Math.min(WINDOW_MS, now - windowStart);
    const times: number[] = [];
    for (let i = 0; i < count; i += 1) times.push(Math.floor(windowStart + random() * width));
    times.sort((x, y) => x - y);
    for (let i = 0; i < count; i += 1) {
      const ms = times[i] as number;
      while (nextBurst < bursts.length && (bursts[nextBurst] as BurstRow).ms <= ms) add(burstRow(bursts[nextBurst++] as BurstRow, o, random));
      // A session that started in the two hours before this row (sessions start evenly over the span).
      const lo = Math.max(0, ((ms - SESSION_MS - plan.start) / plan.span) * o.sessions);
      const hi = Math.max(lo, ((ms - plan.start) / plan.span) * o.sessions);
      const s = Math.min(o.sessions - 1, Math.floor(lo + random() * (hi - lo)));
      add(trafficRow(ms, s, first + i, o, tables, random));
    }
    while (nextBurst < bursts.length) add(burstRow(bursts[nextBurst++] as BurstRow, o, random));
  }
  return { hashes, prefixes, sample };
}
