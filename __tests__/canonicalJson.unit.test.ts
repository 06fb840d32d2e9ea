import { canonicalJson } from '../lib/integrity/canonicalJson';

/** A deterministic generator of the values apps put in details: nested objects and arrays, odd keys and numbers. */
function valueOf(seed: number, depth = 0): unknown {
  const pick = (seed * 2654435761) % 11;
  if (depth > 3) return seed % 2 === 0 ? `s${seed}` : seed / 7;
  switch (pick) {
    case 0: return null;
    case 1: return seed % 3 === 0;
    case 2: return [1e21, -0, 0.1, 5e-324, Number.NaN, Infinity, 123456789.125][seed % 7];
    case 3: return ['', 'plain', 'quote " back \\', 'tab\tnl\n', 'ünï 😀', '\u2028', 'NULL'][seed % 7];
    case 4: return [valueOf(seed + 1, depth + 1), undefined, valueOf(seed + 2, depth + 1), () => 1];
    case 5: return new Date(Date.UTC(2026, seed % 12, 1 + (seed % 28)));
    default: {
      const out: Record<string, unknown> = {};
      const keys = ['z', 'a', '10', '9', 'é', '', 'aa', 'B', '__proto__', 'gone'];
      for (let i = 0; i < 4 + (seed % 5); i += 1) {
        const key = keys[(seed + i * 3) % keys.length] as string;
        Object.defineProperty(out, key, { value: key === 'gone' ? undefined : valueOf(seed * 31 + i, depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

describe('canonicalJson', () => {
  it('is JSON.stringify\'s value with every object\'s keys sorted, and the same text again from its own parse', () => {
    for (let seed = 1; seed <= 400; seed += 1) {
      const value = valueOf(seed);
      const text = canonicalJson(value);
      const plain = JSON.stringify(value);
      if (plain === undefined || plain === 'null') {
        expect(text).toBeNull();
        continue;
      }
      expect(JSON.parse(text as string)).toEqual(JSON.parse(plain));
      // What jsonb gives back is parsed and made canonical again by the verifier: it must be the same text.
      expect(canonicalJson(JSON.parse(text as string))).toBe(text);
    }
  });

  it('writes keys in code-unit order, whatever order the object has them in', () => {
    expect(canonicalJson({ z: 1, a: { y: [{ d: 1, c: 2 }], b: null }, 10: 'ten', 9: 'nine', é: 0, '': 1, B: 2 })).toBe('{"":1,"10":"ten","9":"nine","B":2,"a":{"b":null,"y":[{"c":2,"d":1}]},"z":1,"é":0}');
  });

  it('makes lone surrogates well-formed, in values and keys, and throws on a BigInt as JSON.stringify does', () => {
    expect(canonicalJson({ ['k\ud800']: 'v\udc00', b: ['\ud83d\ude00'] })).toBe('{"b":["😀"],"k\ufffd":"v\ufffd"}');
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
    expect(canonicalJson(undefined)).toBeNull();
    expect(canonicalJson(null)).toBeNull();
    expect(canonicalJson({ a: undefined })).toBe('{}');
  });

  it('writes a deeply frozen object once, and never keeps the text of one that can still change', () => {
    const device = Object.freeze({ type: 'desktop', vendor: null, model: null });
    expect(canonicalJson(device)).toBe('{"model":null,"type":"desktop","vendor":null}');
    expect(canonicalJson({ a: device })).toBe('{"a":{"model":null,"type":"desktop","vendor":null}}');
    const inner = { n: 1 };
    const shallow = Object.freeze({ inner });
    expect(canonicalJson(shallow)).toBe('{"inner":{"n":1}}');
    inner.n = 2;
    expect(canonicalJson(shallow)).toBe('{"inner":{"n":2}}');
    let calls = 0;
    const varying = Object.freeze({ get n() { calls += 1; return calls; } });
    expect(canonicalJson(varying)).toBe('{"n":1}');
    expect(canonicalJson(varying)).toBe('{"n":2}');
  });
});
