/**
 * A cookie-less client's session comes from a keyed hash of its IP and user agent under a salt that
 * rotates daily; the hash is cached per client. Called directly on lib/capture/session.ts, with the
 * request's start time given, so the day can roll over.
 */
import type { ServerResponse } from 'node:http';
import { SessionResolver, type SessionStart } from '../lib/capture/session';
import type { TrackedRequest } from '../lib/types';
import { memoryLogger } from './support/app';

const DAY_MS = 86_400_000;
const MIDNIGHT = Date.UTC(2026, 11, 2);
const CHROME_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

function resolver(): SessionResolver {
  return new SessionResolver({ sessionCookie: false, sessionSecret: 'fingerprint-test-secret-0123', sessionTimeoutMinutes: 30, dataDir: '/nonexistent', logger: memoryLogger() });
}

/** One cookie-less request from `ip` with Chrome's user agent, started at `at`: its session id and fingerprint. */
function startAt(sessions: SessionResolver, at: number, ip = '8.8.8.8'): SessionStart {
  const start: SessionStart = { ip, userAgent: CHROME_UA, startedAt: at, sessionId: '', fingerprint: null, sessionSource: null, tokenHash: null, sessionNote: null };
  start.sessionId = sessions.atStart({ headers: {} } as TrackedRequest, {} as ServerResponse, start);
  return start;
}

describe('cookie-less sessions and the daily salt', () => {
  it('the same client within a day keeps its session and its fingerprint', () => {
    const sessions = resolver();
    const first = startAt(sessions, MIDNIGHT + 60_000);
    const again = startAt(sessions, MIDNIGHT + 120_000);
    expect(again.sessionId).toBe(first.sessionId);
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(first.fingerprint).not.toContain('8.8.8.8');
  });

  it('at midnight the salt rotates: the same client, a minute later, has a new fingerprint and a new session', () => {
    const sessions = resolver();
    const before = startAt(sessions, MIDNIGHT + DAY_MS - 30_000);
    const after = startAt(sessions, MIDNIGHT + DAY_MS + 30_000);
    expect(after.fingerprint).not.toBe(before.fingerprint);
    expect(after.sessionId).not.toBe(before.sessionId);
    // And the new day's fingerprint is the one a fresh resolver with the same secret computes: nothing stale was kept.
    expect(after.fingerprint).toBe(startAt(resolver(), MIDNIGHT + DAY_MS + 45_000).fingerprint);
  });

  it('a cached fingerprint equals the computed one, for many clients', () => {
    const warm = resolver();
    const ips = Array.from({ length: 200 }, (_, i) => `81.2.${i >> 8}.${i & 255}`);
    const firstPass = ips.map((ip) => startAt(warm, MIDNIGHT + 1000, ip).fingerprint);
    const secondPass = ips.map((ip) => startAt(warm, MIDNIGHT + 2000, ip).fingerprint);
    const cold = ips.map((ip) => startAt(resolver(), MIDNIGHT + 3000, ip).fingerprint);
    expect(secondPass).toEqual(firstPass);
    expect(cold).toEqual(firstPass);
    expect(new Set(firstPass).size).toBe(ips.length);
  });
});
