import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { openTestDatabase, resetTables, type TestDatabase } from './support/database';
import { activity, seed } from './support/reports';
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
