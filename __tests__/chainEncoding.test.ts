import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, seed } from './support/reports';
import type { ActivityEvent } from '../lib/types';
import { wireRow } from '../lib/integrity/encodingV3';
import { verifyChain } from '../lib/integrity/verify';
import { CONTENT_HASH_ARGUMENTS } from '../migrations/sql/generator/chainSql';
import { contentHash, contentText, HASH_INPUT_COLUMNS, hashInputsOf, recordText, rowHashOf } from '../lib/integrity/recordEncoding';

let db: TestDatabase;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(async () => { await db.destroy(); });
beforeEach(async () => { await resetTables(db.knex); });

/** Runs a verification on one connection with session settings that change how floats, times and dates print. */
async function verifyWithSettings(settings: string[]): Promise<Awaited<ReturnType<typeof verifyChain>>> {
  return db.knex.transaction(async (trx: Knex.Transaction) => {
    for (const setting of settings) await trx.raw(setting);
    return verifyChain(trx as unknown as Knex);
  });
}

describe('the canonical encoding', () => {
  it('gives the same hashes whatever the session prints floats, times and dates like', async () => {
    await seed(db.knex, [
      activity({ duration: 1.2345678901234567, details: { n: 0.1, big: 12345678901234567890, nested: { z: 1, a: [true, null, 'x'] } } }),
      activity({ duration: 1e-7, startTime: Date.UTC(1999, 11, 31, 23, 59, 59, 999) }),
      activity({ duration: null, endTime: null, details: { quote: 'a "b", (c)\\ d' } }),
    ]);
    expect(await verifyWithSettings([])).toMatchObject({ ok: true, rowsChecked: 3 });
    expect(await verifyWithSettings([
      'set local extra_float_digits = 0', "set local timezone = 'Pacific/Chatham'", "set local datestyle = 'SQL, DMY'", "set local intervalstyle = 'sql_standard'",
    ])).toMatchObject({ ok: true, rowsChecked: 3 });
  });

  it('notices a change in the last bit of a duration', async () => {
    await seed(db.knex, [activity({ duration: 1.2345678901234567 }), activity({ duration: 2 })]);
    await db.knex.transaction(async (trx: Knex.Transaction) => {
      await trx.raw('set local session_replication_role = replica');
      await trx.raw('update user_activity set duration = 1.2345678901234569 where chain_position = 1');
    });
    expect(await verifyWithSettings(['set local extra_float_digits = 0'])).toMatchObject({ ok: false, failure: { position: 1, problem: 'content_changed' } });
  });
});

describe('the JavaScript encoder (lib/integrity/recordEncoding.ts)', () => {
  const TEXTS = [
    '', ' ', 'plain', 'a,b', '(x)', 'quote"d', 'back\\slash', '\\', '"', ',', '()', 'tab\there', 'new\nline', 'cr\rx', 'vt\vx', 'ff\fx',
    'nbsp\u00a0x', 'nel\u0085x', 'ls\u2028x', 'ideographic\u3000space', 'emoji 😀', 'ünïcödé ß', 'NULL', 'ends with space ', '{"json": 1}',
    `long ${'xy"\\('.repeat(2500)}`,
  ];
  /** jsonb written as text, so numbers such as 1.0, 1e21 and -0 reach the database as written. */
  const JSON_TEXTS = [
    'null', '{}', '[]', '{"n": 1.0, "e": 1e21, "z": -0, "m": -0.0, "small": 1e-7, "big": 123456789012345678901234567890.123}',
    '{"nested": {"b": [1, {"c": null, "d": "x\\"y\\\\z"}], "a": "\\u00e9\\ud83d\\ude00"}, "": ""}', '"just a string"', '[true, false, null, 0.10]',
    '{"k": "line\\nbreak, (paren) \\t tab"}',
  ];
  const DURATIONS = ['null', '0', '-0', '1e-7', '1.7976931348623157e308', '5e-324', '1.2345678901234567', '-12.5'];
  const STARTS = ['0', '-86400001', '1234', '1763629200123', '1763629200999', '253402300799999'];

  function rowText(i: number): string {
    const text = (k: number): string => JSON.stringify(TEXTS[(i * 7 + k) % TEXTS.length]);
    const maybe = (k: number, value: string): string => ((i + k) % 3 === 0 ? 'null' : value);
    const fields: Record<string, string> = {
      id: JSON.stringify(randomUUID()), userId: maybe(1, text(1)), sessionId: maybe(2, text(2)), activityType: text(3), entityType: maybe(4, text(4)),
      entityId: maybe(5, text(5)), action: text(6), details: JSON_TEXTS[i % JSON_TEXTS.length] as string, ipAddress: maybe(7, text(7)),
      userAgent: maybe(8, text(8)), browser: maybe(9, text(9)), operatingSystem: maybe(10, text(10)),
      deviceInfo: JSON_TEXTS[(i + 3) % JSON_TEXTS.length] as string, location: JSON_TEXTS[(i + 5) % JSON_TEXTS.length] as string,
      duration: DURATIONS[i % DURATIONS.length] as string, startTime: STARTS[i % STARTS.length] as string, endTime: maybe(11, STARTS[(i + 2) % STARTS.length] as string),
      method: maybe(12, text(12)), path: maybe(13, text(13)), route: maybe(14, text(14)), statusCode: maybe(15, String((i * 37) % 600)),
      success: String(i % 2 === 0), requestSize: maybe(16, String(i * 1000)), responseSize: maybe(17, '0'),
    };
    if (i % 4 !== 0) {
      // Version-2 values on three rows in four, some of them only a false flag or a -0 score.
      Object.assign(fields, i % 4 === 1
        ? { personalData: 'false' }
        : i % 4 === 2
          ? { riskScore: '-0' }
          : {
            actorType: text(18), actorRole: maybe(19, text(19)), actorName: text(20), category: text(21), severity: maybe(22, text(22)), entityName: text(23),
            tenantId: maybe(24, text(24)), ownerId: text(25), status: text(26), reason: text(27), changes: JSON_TEXTS[(i + 1) % JSON_TEXTS.length] as string,
            personalData: 'true', riskScore: DURATIONS[(i + 3) % DURATIONS.length] as string, riskFactors: JSON_TEXTS[(i + 6) % JSON_TEXTS.length] as string, anomaly: String(i % 3 === 0),
          });
    }
    return `{${Object.entries(fields).map(([key, value]) => `"${key}": ${value}`).join(', ')}}`;
  }

  it('hashes 160 varied rows exactly as the database function does', async () => {
    const rows = Array.from({ length: 160 }, (_, i) => rowText(i));
    for (let i = 0; i < rows.length; i += 40) await db.knex.raw('select activity_tracking_append(?::jsonb, false)', [`[${rows.slice(i, i + 40).join(', ')}]`]);
    const stored = (await db.knex.raw(`select ${HASH_INPUT_COLUMNS}, activity_tracking_content_hash(${CONTENT_HASH_ARGUMENTS}) as database_content_hash
      from user_activity t order by t.chain_position`)) as { rows: Array<Record<string, unknown>> };
    expect(stored.rows).toHaveLength(160);
    let versionTwo = 0;
    for (const raw of stored.rows) {
      const inputs = hashInputsOf(raw);
      if (inputs.v2.some((value) => value !== null)) versionTwo += 1;
      // On a mismatch, the record text the encoder made is in the failure message.
      expect({ position: inputs.position, hash: contentHash(inputs), text: contentText(inputs).slice(0, 300) })
        .toEqual({ position: inputs.position, hash: raw['database_content_hash'], text: contentText(inputs).slice(0, 300) });
      expect(rowHashOf(inputs)).toBe(inputs.rowHash);
    }
    expect(versionTwo).toBe(120);
    expect(await verifyChain(db.knex, { pageSize: 7 })).toMatchObject({ ok: true, rowsChecked: 160 });
  });

  it('quotes as record_out does', () => {
    expect(recordText(['v1', '1', null, '', 'a b', 'a"b', 'a\\b', '(', ')', ',', 'é', true, false, '\u00a0'])).toBe('(v1,1,,"","a b","a""b","a\\\\b","(",")",",",é,t,f,\u00a0)');
  });
});

describe('encoding 3: rows the writer hashed (lib/integrity/encodingV3.ts)', () => {
  const LONE = '\ud800 lone';
  /** Values as an app hands them over: keys in any order, numbers jsonb prints otherwise, an own "__proto__", dates, undefined. */
  const DETAILS: unknown[] = [
    { z: 1, a: 2, 10: 'ten', 9: 'nine', 'é': 'accent', '': 'empty' },
    { n: 1e21, small: 5e-324, tenth: 0.1, negZero: -0, notANumber: Number.NaN, big: 12345678901234567890 },
    JSON.parse('{"__proto__": {"polluted": true}, "constructor": "x"}'),
    { when: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)), gone: undefined, fn: () => 1, nested: [{ b: 1, a: [null, true, 'x'] }] },
    { text: `quote " back \\ tab \t nl \n ${LONE} 😀 \u2028` },
    [3, 'list', { b: null, a: undefined }],
    null,
  ];
  const TEXTS = ['plain', '', 'a,b (c) "d" \\e', LONE, 'ünïcödé 😀', ' spaced ', 'NULL'];

  function varied(i: number): ActivityEvent {
    const start = Date.UTC(2026, 10, 20, 10, 0, 0) + i * 1000 + (i % 3) * 0.4;
    return activity({
      id: randomUUID(), startTime: start, endTime: i % 4 === 0 ? null : start + 1.7 + (i % 5) * 0.25, duration: [1.2345678901234567, 1e-7, 0, 2.5, null][i % 5] as number | null,
      userId: TEXTS[i % TEXTS.length] as string, sessionId: i % 2 === 0 ? null : `s-${i}`, path: TEXTS[(i + 2) % TEXTS.length] as string,
      details: DETAILS[i % DETAILS.length] as Record<string, unknown> | null, deviceInfo: DETAILS[(i + 1) % DETAILS.length] as never,
      statusCode: [200, 404, null, 0][i % 4] as number | null, requestSize: i % 3 === 0 ? null : i * 10,
      ...(i % 3 === 1 ? { actorType: 'admin' as const, category: TEXTS[i % TEXTS.length] as string, changes: DETAILS[(i + 2) % DETAILS.length] as never, personalData: i % 2 === 0, riskScore: 0.25, riskFactors: ['burst_rate'], anomaly: false, severity: 'low' as const } : {}),
    });
  }

  it('stores 70 varied rows whose writer-made hashes the verifier recomputes, whatever the session prints floats and times like', async () => {
    const events = Array.from({ length: 70 }, (_, i) => varied(i));
    events[5] = { ...events[5]!, id: events[5]!.id.toUpperCase() };
    await seed(db.knex, events);
    const versions = (await db.knex('user_activity').select('hash_version').groupBy('hash_version')) as Array<{ hash_version: number | null }>;
    expect(versions.map((r) => r.hash_version)).toEqual([3]);
    expect(await verifyWithSettings([])).toMatchObject({ ok: true, rowsChecked: 70 });
    expect(await verifyWithSettings(['set local extra_float_digits = 0', "set local timezone = 'Pacific/Chatham'", "set local datestyle = 'SQL, DMY'"])).toMatchObject({ ok: true, rowsChecked: 70 });
    // What was stored is what the app gave, in jsonb's own form: the canonical text changes nothing but key order and spacing.
    const fourth = (await db.knex('user_activity').where('chain_position', 4).first('details', 'end_time')) as { details: unknown; end_time: Date | null };
    expect(fourth.details).toEqual({ when: '2026-01-02T03:04:05.006Z', nested: [{ a: [null, true, 'x'], b: 1 }] });
    const lone = (await db.knex('user_activity').where('chain_position', 4).first('user_id')) as { user_id: string };
    expect(lone.user_id).toBe('\ufffd lone');
  });

  it('notices a changed value, a changed risk score, a changed version and a moved row', async () => {
    const tamper = async (...statements: string[]): Promise<Awaited<ReturnType<typeof verifyChain>>> => {
      await resetTables(db.knex);
      await seed(db.knex, Array.from({ length: 6 }, (_, i) => varied(i + 1)));
      await db.knex.transaction(async (trx: Knex.Transaction) => {
        await trx.raw('set local session_replication_role = replica');
        for (const sql of statements) await trx.raw(sql);
      });
      return verifyChain(db.knex);
    };
    expect(await tamper(`update user_activity set details = jsonb_set(details, '{b}', '2') where chain_position = 3`)).toMatchObject({ ok: false, failure: { position: 3, problem: 'content_changed' } });
    expect(await tamper('update user_activity set risk_score = 0.5 where chain_position = 1')).toMatchObject({ ok: false, failure: { position: 1, problem: 'content_changed' } });
    expect(await tamper('update user_activity set hash_version = null where chain_position = 2')).toMatchObject({ ok: false, failure: { position: 2, problem: 'content_changed' } });
    expect(await tamper('update user_activity set start_time = start_time + interval \'1 millisecond\' where chain_position = 5')).toMatchObject({ ok: false, failure: { position: 5, problem: 'content_changed' } });
    // A writer that sends a content hash other than its row's: the verifier recomputes it and reports the row.
    await resetTables(db.knex);
    const lying = wireRow(varied(1)).replace(/^\["[0-9a-f]{64}"/, `["${'ab'.repeat(32)}"`);
    await db.knex.raw('select * from activity_tracking_append_rows(?::jsonb, false)', [`[${lying}]`]);
    expect(await verifyChain(db.knex)).toMatchObject({ ok: false, failure: { position: 1, problem: 'content_changed' } });
    expect(await tamper('update user_activity set chain_position = -3 where chain_position = 3', 'update user_activity set chain_position = 3 where chain_position = 4', 'update user_activity set chain_position = 4 where chain_position = -3')).toMatchObject({ ok: false, failure: { position: 3, problem: 'rows_reordered' } });
  });
});
