import {
  createSanitizer,
  DEFAULT_SANITIZE_LIMITS,
  REDACTED,
  type SanitizeLimits,
} from '../lib/capture/sanitize';

type Json = Record<string, unknown>;

const sanitizer = createSanitizer();
const clean = (input: unknown): unknown => sanitizer.value(input).value;
const cleanObject = (input: unknown): Json => clean(input) as Json;
const withLimits = (limits: Partial<SanitizeLimits>) => createSanitizer({ limits });

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

describe('key-based redaction', () => {
  const sensitiveKeys = [
    'password', 'Password', 'user_password', 'USER-PASSWORD', 'newPassword', 'passwd', 'pwd', 'passPhrase',
    'secret', 'client_secret', 'clientSecret',
    'token', 'access_token', 'refresh_token', 'refreshToken', 'id_token', 'csrf-token', 'X-CSRF-Token',
    'apiKey', 'api_key', 'X-API-Key', 'api key', 'api.key',
    'authorization', 'Authorization', 'Proxy-Authorization', 'auth', 'AUTH',
    'cookie', 'Cookie', 'Set-Cookie', 'set_cookie',
    'session', 'sessionId', 'session_id', 'sid', 'connect.sid', 'JSESSIONID', 'PHPSESSID',
    'privateKey', 'private_key',
    'CardNumber', 'card_number', 'creditCard', 'cc-number', 'pan', 'PAN',
    'cvv', 'CVV', 'cvv2', 'cvc', 'security_code', 'securityCode',
    'pin', 'PIN', 'ssn', 'SSN', 'user_ssn', 'customerSsn', 'ssnLast4',
    'cpf', 'CPF', 'cnpj', 'iban', 'IBAN',
    'otp', 'OTP', 'mfa_code', 'mfaCode', 'signature', 'Signature',
  ];

  it.each(sensitiveKeys)('redacts %s', (key) => {
    expect(sanitizer.isSensitiveKey(key)).toBe(true);
    expect(cleanObject({ [key]: 'hunter2', other: 'kept' })).toEqual({ [key]: REDACTED, other: 'kept' });
  });

  const harmlessKeys = [
    'author', 'authored', 'description', 'spin', 'pineapple', 'panel', 'company', 'username', 'email',
    'businessName', 'className', 'address_number', 'session_start', 'otpEnabled', 'signatureAlgorithm', 'spinner',
  ];

  it.each(harmlessKeys)('keeps %s', (key) => {
    expect(sanitizer.isSensitiveKey(key)).toBe(false);
    expect(cleanObject({ [key]: 'visible' })).toEqual({ [key]: 'visible' });
  });

  it('redacts tokenizer_version too (containment of "token" is deliberate)', () => {
    expect(sanitizer.isSensitiveKey('tokenizer_version')).toBe(true);
  });

  it('keeps language-model token counts when they are numbers, and redacts anything else under those keys', () => {
    const usage = { input_tokens: 812, outputTokens: 64, total_tokens: 876, max_tokens: 1024, token_count: 3, tokens: 876.5, cachedTokens: 0 };
    expect(clean({ model: 'm-1', usage })).toEqual({ model: 'm-1', usage });
    expect(clean({ tokens: ['tok_live_abc'], input_tokens: '812', token: 123456, refresh_tokens: { a: 1 }, tokens_secret: 5, max_tokens: Number.NaN })).toEqual({
      tokens: REDACTED, input_tokens: REDACTED, token: REDACTED, refresh_tokens: REDACTED, tokens_secret: REDACTED, max_tokens: REDACTED,
    });
  });

  it('keeps no token count under a key the app named sensitive', () => {
    const strict = createSanitizer({ extraSensitiveKeys: ['input_tokens'] });
    expect(strict.value({ input_tokens: 812, output_tokens: 64 }).value).toEqual({ input_tokens: REDACTED, output_tokens: 64 });
  });

  it('redacts at depth 5 inside arrays', () => {
    const input = {
      users: [{ profile: { logins: [{ name: 'primary', password: 'p4ss', Set_Cookie: ['a=b'] }] } }],
    };
    expect(clean(input)).toEqual({
      users: [{ profile: { logins: [{ name: 'primary', password: REDACTED, Set_Cookie: REDACTED }] } }],
    });
  });

  it('replaces the value whatever its type, without reading it', () => {
    const getter = jest.fn(() => 'secret');
    const input = { token: { nested: 1 }, apiKey: [1, 2], pin: 1234, cvv: null, otp: false };
    Object.defineProperty(input, 'password', { get: getter, enumerable: true });
    expect(clean(input)).toEqual({
      token: REDACTED, apiKey: REDACTED, pin: REDACTED, cvv: REDACTED, otp: REDACTED, password: REDACTED,
    });
    expect(getter).not.toHaveBeenCalled();
  });

  it('applies to Map keys', () => {
    expect(clean(new Map<unknown, unknown>([['Password', 'x'], [42, 'answer']]))).toEqual({
      Password: REDACTED,
      '42': 'answer',
    });
  });

  it('adds extraSensitiveKeys, normalized and matched by containment', () => {
    const custom = createSanitizer({ extraSensitiveKeys: ['tenant-code', ' '] });
    expect(custom.isSensitiveKey('X_Tenant_Code')).toBe(true);
    expect(custom.value({ tenantCode: 'abc', tenant: 'acme' }).value).toEqual({ tenantCode: REDACTED, tenant: 'acme' });
    expect(custom.text('/t?tenant_code=abc&x=1')).toBe(`/t?tenant_code=${REDACTED}&x=1`);
    // the blank extra key must not match everything, and other sanitizers are unaffected
    expect(custom.isSensitiveKey('tenant')).toBe(false);
    expect(sanitizer.isSensitiveKey('tenantCode')).toBe(false);
  });

  it('keeps answering correctly after the key cache has been cycled', () => {
    const s = createSanitizer();
    for (let i = 0; i < 2500; i++) s.isSensitiveKey(`field${i}`);
    expect(s.isSensitiveKey('password')).toBe(true);
    expect(s.isSensitiveKey('field1')).toBe(false);
  });
});

describe('value-based redaction', () => {
  it('redacts a JWT inside free text under a harmless key', () => {
    const out = cleanObject({ note: `user pasted ${JWT} in chat` });
    expect(out.note).toBe(`user pasted ${REDACTED} in chat`);
  });

  it.each(['4111 1111 1111 1111', '4111-1111-1111-1111', '4111111111111111', '3782 822463 10005'])(
    'redacts the Luhn-valid card %s in free text',
    (card) => {
      expect(cleanObject({ comment: `paid with ${card} yesterday` }).comment).toBe(`paid with ${REDACTED} yesterday`);
    },
  );

  it('redacts a card even when followed by more digits (expiry, CVV)', () => {
    expect(clean('card 4111 1111 1111 1111 123 ok')).toBe(`card ${REDACTED} 123 ok`);
    expect(clean('qty 3 4111111111111111')).toBe(`qty 3 ${REDACTED}`);
  });

  it('redacts every card in one run of digits', () => {
    expect(clean('4111 1111 1111 1111 5555 5555 5555 4444')).toBe(`${REDACTED} ${REDACTED}`);
  });

  it('redacts a card given as a number or a BigInt', () => {
    expect(clean({ number: 4111111111111111, big: 4111111111111111n })).toEqual({ number: REDACTED, big: REDACTED });
  });

  it('keeps the digits of a UUID whole, even where they pass the Luhn check', () => {
    // Seen in an audit row: the digits 20949-7427-7387 of this UUID pass the Luhn check.
    const ids = {
      entityId: '01a20949-7427-7387-bcf5-d1dd0d6e7073',
      upper: '01A20949-7427-7387-BCF5-D1DD0D6E7073',
      inText: 'alert 01a20949-7427-7387-bcf5-d1dd0d6e7073 acknowledged',
    };
    expect(clean(ids)).toEqual(ids);
    expect(clean('paid with 4111-1111-1111-1111, ref 01a20949-7427-7387-bcf5-d1dd0d6e7073')).toBe(`paid with ${REDACTED}, ref 01a20949-7427-7387-bcf5-d1dd0d6e7073`);
  });

  it('keeps digit runs that are not cards', () => {
    const input = {
      order: 'order 4111111111111112 shipped', // 16 digits, fails Luhn
      ref: '1234567812345678',
      unix: 'at 1700000000 done', // 10 digits
      unixNumber: 1700000000,
      millis: 1700000000004, // Luhn-valid, but cards never start with 1
      millisText: 'ts=1700000000012',
      dates: 'from 2024-01-01 2024-01-03', // Luhn-valid digits, but not in card-like blocks
      zeros: '0000000000000000',
    };
    expect(clean(input)).toEqual(input);
  });

  it('redacts Bearer and Basic credentials, case-insensitively', () => {
    expect(clean('sent bearer abc.DEF-123_xyz~ to api')).toBe(`sent bearer ${REDACTED} to api`);
    expect(clean(`BEARER ${JWT}`)).toBe(`BEARER ${REDACTED}`);
    expect(clean('Basic dXNlcjpwYXNzd29yZA==')).toBe(`Basic ${REDACTED}`);
  });

  it('leaves "Basic" alone when what follows is not credentials', () => {
    expect(clean('Upgraded to Basic plan')).toBe('Upgraded to Basic plan');
  });

  it('redacts query-string secrets and URL userinfo inside string values', () => {
    expect(cleanObject({ referer: 'https://admin:pw@example.com/login?token=abc&page=2' }).referer).toBe(
      `https://admin:${REDACTED}@example.com/login?token=${REDACTED}&page=2`,
    );
  });
});

describe('text()', () => {
  it.each([
    ['/login?user=bob&password=hunter2', `/login?user=bob&password=${REDACTED}`],
    ['?password=x&token=y', `?password=${REDACTED}&token=${REDACTED}`],
    ['a=1;sid=abc;theme=dark', `a=1;sid=${REDACTED};theme=dark`],
    ['connect.sid=s%3Aabc; lang=en', `connect.sid=${REDACTED}; lang=en`],
    ['user%5Bpassword%5D=x&ok=1', `user%5Bpassword%5D=${REDACTED}&ok=1`],
    ['pass%77ord=x&api+key=y&ok=1', `pass%77ord=${REDACTED}&api+key=${REDACTED}&ok=1`],
    ['/cb#access_token=abc&state=xyz', `/cb#access_token=${REDACTED}&state=xyz`],
    ['retry failed: api_key="abc def" user=bob', `retry failed: api_key=${REDACTED} user=bob`],
    ['/search?q=spin&pin=1234', `/search?q=spin&pin=${REDACTED}`],
    ['/search?q=author&page=1', '/search?q=author&page=1'],
  ])('%s', (input, expected) => {
    expect(sanitizer.text(input)).toBe(expected);
  });

  it('redacts URL userinfo passwords, keeping the user', () => {
    expect(sanitizer.text('https://user:pass@host/x')).toBe(`https://user:${REDACTED}@host/x`);
    expect(sanitizer.text('postgres://app:p@ss@db:5432/main')).toBe(`postgres://app:${REDACTED}@db:5432/main`);
    expect(sanitizer.text('https://host:8443/path?a=b')).toBe('https://host:8443/path?a=b');
  });

  it('redacts sensitive pairs in JSON embedded in a log message', () => {
    expect(sanitizer.text('body {"user":"bob", "password" : "x y", "pin":1234}')).toBe(
      `body {"user":"bob", "password" : "${REDACTED}", "pin":"${REDACTED}"}`,
    );
  });

  it('stays linear on pathological input', () => {
    const nasty = ['a.'.repeat(9000), 'a-'.repeat(9000), '1 '.repeat(9000), '"a":"'.repeat(3500), ' a=b'.repeat(4000)];
    const started = performance.now();
    for (const input of nasty) sanitizer.text(input);
    expect(performance.now() - started).toBeLessThan(250); // a quadratic regex takes well over 500 ms here
  });

  it('redacts header values', () => {
    expect(sanitizer.text(`Bearer ${JWT}`)).toBe(`Bearer ${REDACTED}`);
  });

  it('escapes control characters like value() does', () => {
    expect(sanitizer.text('GET /\r\nX-Forged: 1')).toBe('GET /\\r\\nX-Forged: 1');
  });
});

describe('unsafe characters', () => {
  it('escapes control characters, line separators and bidi overrides in values', () => {
    const out = clean('a\nb\rc\td\u0000e\u001bf\u007fg\u0085h\u2028i\u2029j\u202ek\u2066l') as string;
    expect(out).toBe('a\\nb\\rc\\td\\u0000e\\u001bf\\u007fg\\u0085h\\u2028i\\u2029j\\u202ek\\u2066l');
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  });

  it('escapes them in object keys too', () => {
    expect(Object.keys(cleanObject({ 'evil\nkey\u2028': 1 }))).toEqual(['evil\\nkey\\u2028']);
  });
});

describe('limits', () => {
  it('reports no truncation when nothing is dropped', () => {
    expect(sanitizer.value({ a: [1, 2, { b: 'c' }] })).toEqual({ value: { a: [1, 2, { b: 'c' }] }, truncated: false });
  });

  it('cuts nesting deeper than maxDepth', () => {
    const nested = { l1: { l2: { l3: { l4: { l5: { l6: { l7: 'deep' } } } } } }, top: 1 };
    const { value, truncated } = sanitizer.value(nested);
    expect(value).toEqual({ l1: { l2: { l3: { l4: { l5: { l6: '[depth limit]' } } } } }, top: 1 });
    expect(truncated).toBe(true);
    expect(withLimits({ maxDepth: 1 }).value({ a: [1], b: 2 }).value).toEqual({ a: '[depth limit]', b: 2 });
  });

  it('keeps maxKeys keys per object and counts the rest', () => {
    const input = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, i]));
    expect(withLimits({ maxKeys: 3 }).value(input)).toEqual({
      value: { k0: 0, k1: 1, k2: 2, '…': '[+2 more keys]' },
      truncated: true,
    });
  });

  it('keeps maxKeys items per array (and Set) and counts the rest', () => {
    const s = withLimits({ maxKeys: 2 });
    expect(s.value([1, 2, 3, 4])).toEqual({ value: [1, 2, '[+2 more items]'], truncated: true });
    expect(s.value(new Set(['a', 'b', 'c'])).value).toEqual(['a', 'b', '[+1 more items]']);
  });

  it('cuts long strings and says how much was cut', () => {
    const { value, truncated } = withLimits({ maxStringLength: 10 }).value('abcdefghijKLMNOP');
    expect(value).toBe('abcdefghij…[+6 chars]');
    expect(truncated).toBe(true);
    expect(clean('x'.repeat(DEFAULT_SANITIZE_LIMITS.maxStringLength))).toHaveLength(DEFAULT_SANITIZE_LIMITS.maxStringLength);
  });

  it('never leaks the start of a secret that straddles the cut', () => {
    const s = withLimits({ maxStringLength: 12 });
    const card = s.value('card: 4111111111111111').value as string;
    expect(card).not.toMatch(/411/);
    expect(card.startsWith('card: [REDAC')).toBe(true);
    expect(s.value(`jwt=x ${JWT}`).value).not.toMatch(/eyJ/);
  });

  it('redacts a secret near the cut of a very long string', () => {
    const long = `${'a'.repeat(1020)}4111111111111111${'b'.repeat(200_000)}`;
    const out = clean(long) as string;
    expect(out).not.toMatch(/4111/);
    expect(out).toMatch(/…\[\+\d+ chars\]$/);
  });

  it('does not split a surrogate pair at the cut', () => {
    expect(withLimits({ maxStringLength: 2 }).value('a😀b').value).toBe('a…[+3 chars]');
  });

  it('stops at the byte budget with a size marker', () => {
    const { value, truncated } = withLimits({ maxTotalBytes: 1000 }).value({
      a: 'x'.repeat(900),
      b: 'y'.repeat(900),
      c: 'z',
    });
    expect(value).toEqual({ a: 'x'.repeat(900), b: '[size limit]', '…': '[+1 more keys]' });
    expect(truncated).toBe(true);
  });

  describe('a 10 MB input', () => {
    const records = Array.from({ length: 200_000 }, (_, i) => ({
      id: i,
      email: `user${i}@example.com`,
      note: 'lorem ipsum dolor sit amet',
      password: 'hunter2',
    }));

    // Best of three, so that a GC pause caused by building the input is not billed to the sanitizer.
    const timed = (input: unknown) => {
      let best = Infinity;
      let result = sanitizer.value(undefined);
      for (let run = 0; run < 3; run++) {
        const started = performance.now();
        result = sanitizer.value(input);
        best = Math.min(best, performance.now() - started);
      }
      return { ...result, ms: best, bytes: Buffer.byteLength(JSON.stringify(result.value)) };
    };

    it.each([
      ['an array of 200k records', () => records],
      // V8 lists all 200k keys before the first can be read; that listing is most of the time here.
      ['an object with 200k keys', () => Object.fromEntries(records.map((r, i) => [`r${i}`, r]))],
    ])('sanitizes %s fast and within the byte budget', (_label, build) => {
      const input = build();
      expect(JSON.stringify(input).length).toBeGreaterThan(10_000_000);
      const { value, truncated, ms, bytes } = timed(input);
      // A bound against work that grows with the input (a full walk of 10 MB takes seconds), with
      // room for a loaded CI machine; typical is 20-100 ms.
      expect(ms).toBeLessThan(1000);
      expect(truncated).toBe(true);
      expect(bytes).toBeLessThanOrEqual(DEFAULT_SANITIZE_LIMITS.maxTotalBytes + 256);
      expect(JSON.stringify(value)).not.toContain('hunter2');
    });
  });

  it('keeps deep, wide input within the byte budget', () => {
    const wide = (depth: number): unknown =>
      depth === 0 ? 'v'.repeat(50) : Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, wide(depth - 1)]));
    const { value } = sanitizer.value(wide(4));
    expect(Buffer.byteLength(JSON.stringify(value))).toBeLessThanOrEqual(DEFAULT_SANITIZE_LIMITS.maxTotalBytes + 256);
    expect(JSON.stringify(value)).toContain('[size limit]');
  });
});

describe('awkward values', () => {
  it('marks cycles', () => {
    const a: Json = { name: 'a' };
    a.self = a;
    a.list = [a];
    expect(clean(a)).toEqual({ name: 'a', self: '[circular]', list: ['[circular]'] });
  });

  it('copies shared, non-cyclic references', () => {
    const shared = { x: 1 };
    expect(clean({ a: shared, b: shared })).toEqual({ a: { x: 1 }, b: { x: 1 } });
  });

  it('summarizes binary data', () => {
    expect(clean({ buf: Buffer.from('hello'), bytes: new Uint8Array(3), ab: new ArrayBuffer(8) })).toEqual({
      buf: '[binary 5 bytes]',
      bytes: '[binary 3 bytes]',
      ab: '[binary 8 bytes]',
    });
  });

  it('converts BigInt, Date, non-finite numbers', () => {
    expect(
      clean({ big: 12345678901234567890n, when: new Date('2024-05-06T07:08:09.000Z'), bad: new Date('nope'), nan: NaN, inf: -Infinity }),
    ).toEqual({ big: '12345678901234567890', when: '2024-05-06T07:08:09.000Z', bad: null, nan: null, inf: null });
  });

  it('writes Dates as UTC ISO strings even when toJSON was patched', () => {
    const date = Object.assign(new Date('2024-05-06T07:08:09.000Z'), { toJSON: () => 'local time' });
    expect(clean(date)).toBe('2024-05-06T07:08:09.000Z');
  });

  it('turns Map into an object and Set into an array', () => {
    expect(clean({ m: new Map([['a', 1]]), s: new Set([1, 'two']) })).toEqual({ m: { a: 1 }, s: [1, 'two'] });
  });

  it('marks throwing getters and toJSON as unreadable', () => {
    const input = { ok: 1 };
    Object.defineProperty(input, 'broken', { enumerable: true, get: () => { throw new Error('boom'); } });
    const badToJSON = { toJSON: () => { throw new Error('boom'); } };
    expect(clean({ input, badToJSON })).toEqual({ input: { ok: 1, broken: '[unreadable]' }, badToJSON: '[unreadable]' });
  });

  it('uses toJSON, and sanitizes what it returns', () => {
    class Money {
      constructor(private readonly cents: number) {}
      toJSON() {
        return { amount: this.cents / 100, token: 'tok_123' };
      }
    }
    expect(clean({ price: new Money(1999) })).toEqual({ price: { amount: 19.99, token: REDACTED } });
  });

  it('copies class instances as plain data, dropping functions and symbols', () => {
    const tag: unique symbol = Symbol('tag');
    class User {
      name = 'bob';
      greet = () => 'hi';
      role = Symbol('admin');
      [tag] = 1;
    }
    const out = cleanObject({ user: new User(), list: [() => 1, Symbol('s'), undefined, 2] });
    expect(out).toEqual({ user: { name: 'bob' }, list: [null, null, null, 2] });
    expect(Object.getPrototypeOf(out.user)).toBe(Object.prototype);
  });

  it('keeps name and message of errors', () => {
    const err = Object.assign(new TypeError('bad input'), { code: 'E_BAD' });
    expect(clean({ err })).toEqual({ err: { name: 'TypeError', message: 'bad input', code: 'E_BAD' } });
  });

  it('stores __proto__ as data without changing any prototype', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}') as unknown;
    const out = cleanObject(input);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect((out as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(out))).toEqual(input);
    expect(Object.keys(out)).toEqual(['__proto__', 'constructor']);
  });

  it('never throws, even on a hostile Proxy', () => {
    const hostile = new Proxy({}, { ownKeys: () => { throw new Error('nope'); } });
    expect(sanitizer.value({ hostile })).toEqual({ value: { hostile: '[unreadable]' }, truncated: false });
    expect(sanitizer.value(undefined).value).toBeUndefined();
  });
});

describe('purity', () => {
  it('does not mutate the input', () => {
    const input = {
      user: { name: 'bob', password: 'p', notes: `line1\nline2 ${JWT}` },
      items: Array.from({ length: 150 }, (_, i) => i),
      long: 'x'.repeat(5000),
      card: '4111 1111 1111 1111',
    };
    const before = structuredClone(input);
    const out = clean(input);
    expect(input).toEqual(before);
    expect(out).not.toBe(input);
    expect((out as typeof input).user).not.toBe(input.user);
  });
});

describe('fast paths', () => {
  // Strings with no trigger for any pattern (no ':', '=', 'eyJ', bearer/basic, 13-digit run,
  // unsafe character) skip the redaction pipeline; these pin that the skip changes nothing.
  it.each([
    '/api/items/42',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    'application/json',
    'mail ada@example.com about order 4111 1111', // '@' alone cannot start a secret; 8 digits is no card
    'call 422222222222 today', // 12 digits: one short of a card
    'ids 4222 2222 / 2222 2', // a character other than space, '-' or '.' ends a digit run
    'Basic plan, bearers of news',
    'café 中文 😀 "quoted" back\\slash',
  ])('keeps %j exactly as it is', (input) => {
    expect(sanitizer.text(input)).toBe(input);
    expect(clean({ v: input })).toEqual({ v: input });
  });

  // Each of these carries only the trigger its own pattern needs, nothing more.
  it.each([
    ['ref 4222222222222 end', `ref ${REDACTED} end`], // 13-digit card, no separators
    ['ref 4222 2222 2222 2 end', `ref ${REDACTED} end`], // 13 digits split by single spaces
    ['ids 12--4222222222222', `ids 12--${REDACTED}`], // the run restarts after a double separator
    ['auth was Basic YWRtaW46c2VjcmV0 ok', `auth was Basic ${REDACTED} ok`], // no '=' padding, no ':'
    ['auth was bAsIc YWRtaW46c2VjcmV0 ok', `auth was bAsIc ${REDACTED} ok`],
    ['sent bEaReR abc123 to api', `sent bEaReR ${REDACTED} to api`],
    [`token is ${JWT} ok`, `token is ${REDACTED} ok`], // JWT with no '=' or ':' around it
    ['password=x', `password=${REDACTED}`],
    ['page=2&password=x', `page=2&password=${REDACTED}`],
    ['ftp://bob:pw@files.example/x', `ftp://bob:${REDACTED}@files.example/x`],
    ['{"pin":1234}', `{"pin":"${REDACTED}"}`],
    ['line\u2028break', 'line\\u2028break'],
  ])('still redacts %j', (input, expected) => {
    expect(sanitizer.text(input)).toBe(expected);
    expect(clean({ note: input })).toEqual({ note: expected });
    // again, now that a result may have been cached
    expect(sanitizer.text(input)).toBe(expected);
  });

  it('gives the same answer from the cache as without it', () => {
    const s = createSanitizer();
    const inputs = ['fields=name&page=2', 'https://example.test/x?y=1', 'a\tb', 'Upgraded to Basic plan'];
    const first = inputs.map((i) => s.text(i));
    expect(first).toEqual(['fields=name&page=2', 'https://example.test/x?y=1', 'a\\tb', 'Upgraded to Basic plan']);
    expect(inputs.map((i) => s.text(i))).toEqual(first);
    expect(inputs.map((i) => s.value(i).value)).toEqual(first);
  });

  it('keeps answering correctly after the text cache has been cycled', () => {
    const s = createSanitizer();
    for (let i = 0; i < 1500; i++) s.text(`page=${i}`);
    expect(s.text('page=1&token=t')).toBe(`page=1&token=${REDACTED}`);
    expect(s.text('page=1')).toBe('page=1');
  });

  it('does not share cached results between sanitizers with different sensitive keys', () => {
    const plain = createSanitizer();
    const custom = createSanitizer({ extraSensitiveKeys: ['tenant-code'] });
    const path = '/t?tenant_code=abc&x=1';
    expect(plain.text(path)).toBe(path);
    expect(custom.text(path)).toBe(`/t?tenant_code=${REDACTED}&x=1`);
    expect(plain.text(path)).toBe(path);
    expect(plain.value({ tenantCode: 'abc' }).value).toEqual({ tenantCode: 'abc' });
    expect(custom.value({ tenantCode: 'abc' }).value).toEqual({ tenantCode: REDACTED });
    expect(plain.value({ tenantCode: 'abc' }).value).toEqual({ tenantCode: 'abc' });
  });

  it('does not share cached results between sanitizers with different limits', () => {
    const short = withLimits({ maxStringLength: 10 });
    const input = 'fields=name&page=2';
    expect(sanitizer.text(input)).toBe(input);
    expect(short.text(input)).toBe('fields=nam…[+8 chars]');
    expect(sanitizer.text(input)).toBe(input);
    expect(short.value({ [input]: 1 })).toEqual({ value: { 'fields=nam…[+8 chars]': 1 }, truncated: true });
    expect(sanitizer.value({ [input]: 1 })).toEqual({ value: { [input]: 1 }, truncated: false });
  });

  // The byte budget is counted without serializing; it must still agree with JSON.
  it.each([
    'plain', 'é', '中', '😀', '\ud83d', 'lone \ude00 low', '"q"', 'back\\slash', 'tab\there', 'bell\u0007', 'c1\u0085',
    'bidi\u202e', `x ${JWT}`, 'password=secret&a=b', 'x'.repeat(40),
  ])('counts %j at its JSON size', (input) => {
    const s = withLimits({ maxStringLength: 30 });
    const expected = s.text(input);
    const bytes = Buffer.byteLength(JSON.stringify(expected));
    expect(withLimits({ maxStringLength: 30, maxTotalBytes: bytes }).value(input).value).toBe(expected);
    expect(withLimits({ maxStringLength: 30, maxTotalBytes: bytes - 1 }).value(input).value).toBe('[size limit]');
  });

  it.each([0, 7, -7, 10, 99, 123456, -999999999999999, 1e15, 1e21, 1.5, -0.25, 5e-7])(
    'counts the number %p at its JSON size',
    (n) => {
      const bytes = JSON.stringify(n).length;
      expect(withLimits({ maxTotalBytes: bytes }).value(n).value).toBe(n);
      expect(withLimits({ maxTotalBytes: bytes - 1 }).value(n).value).toBe('[size limit]');
    },
  );

  it('marks cycles and copies shared references when maxDepth is large', () => {
    const deep = withLimits({ maxDepth: 1000 });
    const a: Json = { name: 'a' };
    a.self = a;
    const shared = { x: 1 };
    expect(deep.value({ a, b: shared, c: shared }).value).toEqual({ a: { name: 'a', self: '[circular]' }, b: { x: 1 }, c: { x: 1 } });
  });
});

describe('secrets an outside review found stored', () => {
  it.each([
    'pass', 'PASS', 'db_pass', 'pw', 'newPw', 'passcode', 'pincode', 'pin_code', 'otp_code', 'accessKey', 'credentials',
    'social_security_number', 'aws_access_key_id', 'aws_secret_access_key',
  ])('redacts the key %s', (key) => {
    expect(sanitizer.isSensitiveKey(key)).toBe(true);
    expect(cleanObject({ [key]: 'hunter2', other: 'kept' })).toEqual({ [key]: REDACTED, other: 'kept' });
  });

  it.each(['compass', 'passenger', 'bypass_cache', 'pwa', 'code', 'key', 'sig', 'account', 'passport_country'])('keeps the key %s in a body', (key) => {
    expect(sanitizer.isSensitiveKey(key)).toBe(false);
  });

  it.each(['sig', 'X-Amz-Signature', 'X-Amz-Credential', 'X-Goog-Signature', 'code', 'auth_code', 'key', 'x-amz-signature'])(
    'redacts the URL parameter %s in a query string or Referer',
    (name) => {
      expect(sanitizer.isSensitiveParam(name)).toBe(true);
      expect(sanitizer.text(`https://example.test/cb?state=s1&${name}=abc123&page=2`)).toBe(`https://example.test/cb?state=s1&${name}=${REDACTED}&page=2`);
    },
  );

  it.each([
    ['a PEM private key', 'key: -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK==\n-----END RSA PRIVATE KEY----- done', `key: ${REDACTED} done`],
    ['a PEM block written with escaped newlines', '{"k":"-----BEGIN PRIVATE KEY-----\\nMIIEv\\n-----END PRIVATE KEY-----\\n"}', `{"k":"${REDACTED}\\n"}`],
    ['a PEM block cut before its end', 'x -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNz', `x ${REDACTED}`],
    ['an AWS access key id', 'id AKIAIOSFODNN7EXAMPLE used', `id ${REDACTED} used`],
    ['a temporary AWS key id', 'ASIAY34FZKBOKMUTVV7A', REDACTED],
    ['an INI secret', '[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n',
      `[default]\\naws_access_key_id = ${REDACTED}\\naws_secret_access_key = ${REDACTED}\\n`], // newlines escaped, as always
    ['a card with dots', 'card 4111.1111.1111.1111 ok', `card ${REDACTED} ok`],
    ['a card with double spaces', 'card 4111  1111  1111  1111 ok', `card ${REDACTED} ok`],
    ['an IBAN in groups', 'pay DE89 3704 0044 0532 0130 00 today', `pay ${REDACTED} today`],
    ['a compact IBAN', 'iban GB29NWBK60161331926819.', `iban ${REDACTED}.`],
    ['GraphQL inline arguments', 'mutation { login(user: "ada", password: "hunter2") { id } }', `mutation { login(user: "ada", password: "${REDACTED}") { id } }`],
    ['a key written with \\u escapes', '{"pass\\u0077ord": "hunter2", "a": 1}', `{"pass\\u0077ord": "${REDACTED}", "a": 1}`],
    ['single-quoted keys', "{'password': 'hunter2', 'pin': 1234}", `{'password': '${REDACTED}', 'pin': '${REDACTED}'}`],
    ['escaped JSON inside a string', '{\\"password\\":\\"hunter2\\"}', `{\\"password\\":\\"${REDACTED}\\"}`],
    ['a secret whose value is a structure', '{"credentials": {"user": "a", "k": "hunter2"}, "b": 2}', `{"credentials": "${REDACTED}", "b": 2}`],
    ['a hash rocket', "{'token' => 'abc'}", `{'token' => '${REDACTED}'}`],
  ])('redacts %s in free text', (_label, input, expected) => {
    expect(sanitizer.text(input)).toBe(expected);
  });

  it.each([
    'mail ada@example.com at 10:30, see https://example.test:8443/a?b=c',
    'version 10.0.19045.2965 and 2024.01.01',
    'order ABCD12345678901234 shipped', // letters then digits, but no valid IBAN check
    'GB00NWBK60161331926819', // fails the mod 97 check
    'Enter your password:',
    'AKIAIOSFODNN7EXAMPL', // one character short
  ])('keeps %j', (input) => {
    expect(sanitizer.text(input)).toBe(input);
  });

  it('redacts IBANs under an account key and card numbers written with dots in values', () => {
    expect(clean({ account: 'DE89 3704 0044 0532 0130 00', note: '4111.1111.1111.1111' })).toEqual({ account: REDACTED, note: REDACTED });
  });

  it('redacts the value of name/value pairs and JSON Patch operations that name a secret', () => {
    expect(clean({
      fields: [{ name: 'password', value: 'hunter2' }, { name: 'email', value: 'ada@example.com' }, { Key: 'api_key', Value: 'k1' }],
      patch: [{ op: 'replace', path: '/user/password', value: 'hunter2' }, { op: 'replace', path: '/user/name', value: 'Ada' }],
    })).toEqual({
      fields: [{ name: 'password', value: REDACTED }, { name: 'email', value: 'ada@example.com' }, { Key: 'api_key', Value: REDACTED }],
      patch: [{ op: 'replace', path: '/user/password', value: REDACTED }, { op: 'replace', path: '/user/name', value: 'Ada' }],
    });
  });
});

describe('linear time on hostile text', () => {
  // Strings are read up to maxStringLength + 16 KB; a large maxStringLength lets the growth show.
  const wide = withLimits({ maxStringLength: 400_000, maxTotalBytes: 10_000_000 });
  /** Best of five, in CPU time: time the process spent waiting for a busy machine is not counted. */
  const best = (input: string) => {
    let ms = Infinity;
    for (let run = 0; run < 5; run++) {
      const started = process.cpuUsage();
      wide.text(input);
      const used = process.cpuUsage(started);
      ms = Math.min(ms, (used.user + used.system) / 1000);
    }
    return ms;
  };

  it.each([
    ['escaped quotes', (n: number) => '\\"'.repeat(n) + ':'],
    ['quoted keys', (n: number) => '"a":'.repeat(n)],
    ['single-quoted keys', (n: number) => "'a':".repeat(n)],
    ['escaped JSON keys', (n: number) => '\\"a\\":'.repeat(n)],
    ['backslashes before a quote', (n: number) => '\\'.repeat(n) + '":1'],
    ['long bare keys', (n: number) => ('k'.repeat(127) + ':').repeat(Math.ceil(n / 128))],
    ['sensitive keys without values', (n: number) => '"password":,'.repeat(n)],
    ['open structures', (n: number) => '{"password":' + '[{"a":"'.repeat(n)],
    ['query pairs', (n: number) => '&a='.repeat(n)],
    ['JWT starts', (n: number) => 'eyJa.'.repeat(n)],
    ['URL schemes', (n: number) => 'a://x:'.repeat(n)],
    ['PEM headers', (n: number) => '-----BEGIN X-----'.repeat(n)],
    ['AWS key id starts', (n: number) => 'AKIA'.repeat(n)],
    ['IBAN starts', (n: number) => 'DE89 '.repeat(n)],
    ['digit runs', (n: number) => '4111 '.repeat(n)],
    ['bearer words', (n: number) => 'bearer '.repeat(n)],
  ])('%s', (_label, build) => {
    const small = build(5_000);
    const large = build(40_000);
    wide.text(large); // warm up
    // Eight times the input: linear work takes about eight times as long, quadratic sixty-four.
    // Garbage collection can stretch one measurement; growth in the code shows in every one.
    let ratio = Infinity;
    for (let attempt = 0; attempt < 3 && ratio >= 24; attempt++) ratio = Math.min(ratio, best(large) / Math.max(best(small), 0.05));
    expect(ratio).toBeLessThan(24);
  });
});
