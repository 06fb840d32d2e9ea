/** The report routes' parameter rules in lib/router/params.ts, called directly: no app, no database. */
import { ApiError } from '../lib/router/apiError';
import {
  activityFilters, activityTypes, allowOnly, boolean, date, dateRange, DEFAULT_LIMIT, describeFilters, domainFilters,
  identifier, identifierValue, integer, ipAddress, limitOffset, MAX_LIMIT, oneOf, pageParams, single, type RawQuery,
} from '../lib/router/params';
import { ACTIVITY_TYPES } from '../lib/types';

/** The ApiError a call throws, so a test can look at its status, code and parameter. */
function thrown(call: () => unknown): ApiError {
  try {
    call();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an ApiError, nothing was thrown');
}

function expectInvalid(call: () => unknown, param: string, message?: RegExp): void {
  const error = thrown(call);
  expect({ status: error.status, code: error.code, param: error.param }).toEqual({ status: 400, code: 'ERR_AT_INVALID_PARAM', param });
  if (message) expect(error.message).toMatch(message);
}

describe('allowOnly', () => {
  it('accepts known parameters', () => {
    expect(() => allowOnly({ limit: '5', userId: 'u' }, ['limit', 'userId', 'offset'])).not.toThrow();
  });

  it('names an unknown one, and what is allowed', () => {
    const error = thrown(() => allowOnly({ limit: '5', usrId: 'u' }, ['limit', 'userId']));
    expect({ status: error.status, code: error.code, param: error.param }).toEqual({ status: 400, code: 'ERR_AT_UNKNOWN_PARAM', param: 'usrId' });
    expect(error.message).toBe('Unknown parameter "usrId". Allowed here: limit, userId');
  });

  it('says "none" when a route takes no parameters, and cuts a long name at 64 characters', () => {
    const key = 'k'.repeat(100);
    const error = thrown(() => allowOnly({ [key]: '1' }, []));
    expect(error.param).toBe('k'.repeat(64));
    expect(error.message).toMatch(/Allowed here: none$/);
  });
});

describe('single', () => {
  it('returns the value, or undefined when absent', () => {
    expect(single({ q: 'abc' }, 'q', 3)).toBe('abc');
    expect(single({}, 'q', 3)).toBeUndefined();
  });

  it.each<[string, unknown]>([
    ['repeated', ['a', 'b']],
    ['nested', { a: '1' }],
  ])('refuses a %s value', (_name, value) => {
    expectInvalid(() => single({ q: value }, 'q', 10), 'q', /given once/);
  });

  it('refuses a value longer than its maximum', () => {
    expectInvalid(() => single({ q: 'abcd' }, 'q', 3), 'q', /maximum of 3 characters/);
  });
});

describe('identifier', () => {
  it.each(['alice', 'user-42', 'a.b_c', 'bob@example.com', 'urn:x:1', 'a+b', 'a|b', 'org/team', 'k=v', 'a~b', '#1', 'bob\\r\\nadmin'])('accepts %j', (value) => {
    expect(identifier({ id: value }, 'id', 64)).toBe(value);
  });

  it.each(['', 'a b', "a'b", 'a"b', 'a;b', 'a,b', 'a<b', 'é', 'a\nb'])('refuses %j', (value) => {
    expectInvalid(() => identifier({ id: value }, 'id', 64), 'id', /letters, digits/);
  });

  it('is undefined when absent, and refuses more than its maximum length', () => {
    expect(identifier({}, 'id', 5)).toBeUndefined();
    expectInvalid(() => identifier({ id: 'abcdef' }, 'id', 5), 'id', /maximum of 5/);
  });

  it('identifierValue checks one value the same way', () => {
    expect(identifierValue('userId', 'alice', 10)).toBe('alice');
    expectInvalid(() => identifierValue('userId', 'a b', 10), 'userId');
  });
});

describe('date', () => {
  it.each<[string, string]>([
    ['2026-11-23', '2026-11-23T00:00:00.000Z'],
    ['2026-11-23T10:00', '2026-11-23T10:00:00.000Z'],
    ['2026-11-23T10:00:00', '2026-11-23T10:00:00.000Z'],
    ['2026-11-23 10:00:00', '2026-11-23T10:00:00.000Z'],
    ['2026-11-23T10:00:00Z', '2026-11-23T10:00:00.000Z'],
    ['2026-11-23T10:00:00.123+01:00', '2026-11-23T09:00:00.123Z'],
    ['2026-11-23T10:00:00-0530', '2026-11-23T15:30:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
  ])('reads %s as %s (UTC when no zone is given)', (value, iso) => {
    expect(date({ startDate: value }, 'startDate')?.toISOString()).toBe(iso);
  });

  it.each(['2026-02-31', '2025-02-29', '2026-13-01', '2026-11-23T25:00:00Z', '23/11/2026', '2026-11-23T10', 'yesterday', '1732356000', '2026-11-23T10:00:00.1234567Z'])('refuses %s', (value) => {
    expectInvalid(() => date({ startDate: value }, 'startDate'), 'startDate', /ISO 8601/);
  });

  it('is undefined when absent and refuses more than 40 characters', () => {
    expect(date({}, 'startDate')).toBeUndefined();
    expectInvalid(() => date({ startDate: `2026-11-23${' '.repeat(31)}` }, 'startDate'), 'startDate', /maximum of 40/);
  });
});

describe('dateRange', () => {
  it('returns only the ends that were given', () => {
    expect(dateRange({})).toEqual({});
    expect(dateRange({ startDate: '2026-01-01' })).toEqual({ startDate: new Date('2026-01-01T00:00:00Z') });
    expect(dateRange({ endDate: '2026-01-02' })).toEqual({ endDate: new Date('2026-01-02T00:00:00Z') });
  });

  it('allows an empty range (start equals end) and refuses an end before the start', () => {
    expect(dateRange({ startDate: '2026-01-01', endDate: '2026-01-01' })).toEqual({ startDate: new Date('2026-01-01T00:00:00Z'), endDate: new Date('2026-01-01T00:00:00Z') });
    expectInvalid(() => dateRange({ startDate: '2026-01-02', endDate: '2026-01-01' }), 'endDate', /not be before/);
  });
});

describe('integer', () => {
  it('falls back when absent and reads whole numbers within bounds, bounds included', () => {
    expect(integer({}, 'n', 1, 10, 7)).toBe(7);
    expect(integer({ n: '1' }, 'n', 1, 10, 7)).toBe(1);
    expect(integer({ n: '10' }, 'n', 1, 10, 7)).toBe(10);
    expect(integer({ n: '007' }, 'n', 1, 10, 7)).toBe(7);
  });

  it.each(['0', '11', '-1', '1.5', '1e1', ' 5', '0x5', ''])('refuses %j for 1..10', (value) => {
    expectInvalid(() => integer({ n: value }, 'n', 1, 10, 7), 'n', /whole number from 1 to 10/);
  });
});

describe('oneOf and boolean', () => {
  it('oneOf takes an allowed value, else the fallback (or undefined), and names the choices on error', () => {
    expect(oneOf({ order: 'asc' }, 'order', ['asc', 'desc'] as const, 'desc')).toBe('asc');
    expect(oneOf({}, 'order', ['asc', 'desc'] as const, 'desc')).toBe('desc');
    expect(oneOf({}, 'order', ['asc', 'desc'] as const)).toBeUndefined();
    expectInvalid(() => oneOf({ order: 'ASC' }, 'order', ['asc', 'desc'] as const), 'order', /one of asc, desc/);
  });

  it('boolean reads exactly "true" and "false"', () => {
    expect(boolean({ success: 'true' }, 'success')).toBe(true);
    expect(boolean({ success: 'false' }, 'success')).toBe(false);
    expect(boolean({}, 'success')).toBeUndefined();
    expectInvalid(() => boolean({ success: '1' }, 'success'), 'success');
  });
});

describe('activityTypes', () => {
  it('reads one, repeated or comma-separated types, trimmed and without duplicates', () => {
    expect(activityTypes({ activityType: 'login' })).toEqual(['login']);
    expect(activityTypes({ activityType: ['login', 'logout'] })).toEqual(['login', 'logout']);
    expect(activityTypes({ activityType: 'login, logout,login' })).toEqual(['login', 'logout']);
    expect(activityTypes({ types: 'error' }, 'types')).toEqual(['error']);
    expect(activityTypes({})).toBeUndefined();
  });

  it('refuses an unknown type and names it', () => {
    expectInvalid(() => activityTypes({ activityType: 'login,signin' }), 'activityType', /unknown activity type "signin"/);
    expectInvalid(() => activityTypes({ activityType: '' }), 'activityType', /unknown activity type ""/);
  });

  it('refuses more values than there are types, nested values, and more than 400 characters', () => {
    expectInvalid(() => activityTypes({ activityType: Array(ACTIVITY_TYPES.length + 1).fill('login') }), 'activityType', /at most/);
    expectInvalid(() => activityTypes({ activityType: [{ a: 'b' }] }), 'activityType', /plain values/);
    expectInvalid(() => activityTypes({ activityType: `login${' '.repeat(400)}` }), 'activityType', /maximum of 400/);
  });
});

describe('ipAddress', () => {
  it.each(['203.0.113.9', '::1', '2001:db8::1', '::ffff:192.0.2.1'])('accepts %s', (value) => {
    expect(ipAddress({ ipAddress: value })).toBe(value);
  });

  it.each(['256.1.1.1', '10.0.0', 'localhost', '203.0.113.9/24'])('refuses %s', (value) => {
    expectInvalid(() => ipAddress({ ipAddress: value }), 'ipAddress', /IPv4 or IPv6/);
  });
});

describe('activityFilters and domainFilters', () => {
  it('collects every filter given, typed, and nothing else', () => {
    const query: RawQuery = {
      userId: 'alice', sessionId: 's1', activityType: 'login,logout', entityType: 'items', entityId: '7',
      startDate: '2026-01-01', endDate: '2026-01-31', ipAddress: '10.0.0.1', success: 'false',
      action: 'approval.submitted', actorType: 'agent', category: 'approval',
    };
    expect(activityFilters(query)).toEqual({
      userId: 'alice', sessionId: 's1', activityTypes: ['login', 'logout'], entityType: 'items', entityId: '7',
      startDate: new Date('2026-01-01T00:00:00Z'), endDate: new Date('2026-01-31T00:00:00Z'), ipAddress: '10.0.0.1', success: false,
      action: 'approval.submitted', actorType: 'agent', category: 'approval',
    });
    expect(activityFilters({})).toEqual({});
  });

  it('domainFilters refuses an unknown actor type', () => {
    expect(domainFilters({ actorType: 'service' })).toEqual({ actorType: 'service' });
    expectInvalid(() => domainFilters({ actorType: 'robot' }), 'actorType', /one of user, admin, agent, system, service/);
  });

  it('names the first bad filter', () => {
    expectInvalid(() => activityFilters({ userId: 'alice', entityId: 'a b' }), 'entityId');
  });
});

describe('limitOffset and pageParams', () => {
  it('defaults: limit 100, offset 0, newest first by start time', () => {
    expect(DEFAULT_LIMIT).toBe(100);
    expect(limitOffset({})).toEqual({ limit: DEFAULT_LIMIT, offset: 0 });
    expect(limitOffset({}, 20)).toEqual({ limit: 20, offset: 0 });
    expect(pageParams({})).toEqual({ limit: DEFAULT_LIMIT, offset: 0, orderBy: 'startTime', order: 'desc' });
  });

  it('limit is 1 to MAX_LIMIT; offset from 0', () => {
    expect(limitOffset({ limit: String(MAX_LIMIT), offset: '0' })).toEqual({ limit: MAX_LIMIT, offset: 0 });
    expectInvalid(() => limitOffset({ limit: '0' }), 'limit');
    expectInvalid(() => limitOffset({ limit: String(MAX_LIMIT + 1) }), 'limit');
    expectInvalid(() => limitOffset({ offset: '-1' }), 'offset');
  });

  it('orderBy takes only the indexed columns', () => {
    expect(pageParams({ orderBy: 'duration', order: 'asc' })).toMatchObject({ orderBy: 'duration', order: 'asc' });
    expectInvalid(() => pageParams({ orderBy: 'ipAddress' }), 'orderBy', /one of startTime, duration, userId, activityType/);
  });
});

describe('describeFilters', () => {
  it('writes dates as ISO strings and keeps everything else', () => {
    expect(describeFilters({ userId: 'alice', startDate: new Date('2026-01-01T00:00:00Z'), activityTypes: ['login'], success: false }))
      .toEqual({ userId: 'alice', startDate: '2026-01-01T00:00:00.000Z', activityTypes: ['login'], success: false });
  });
});
