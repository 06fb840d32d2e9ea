/** lib/capture/recentCache.ts, the request path's bounded cache, called directly. */
import { RecentCache } from '../lib/util/recentCache';

describe('RecentCache', () => {
  it('never holds more than its capacity, however many distinct keys go through it', () => {
    const cache = new RecentCache<string, number>(1000);
    let largest = 0;
    for (let i = 0; i < 25_000; i++) {
      cache.set(`client-${i}`, i);
      cache.get(`client-${i >> 1}`);
      largest = Math.max(largest, cache.size);
    }
    expect(largest).toBeLessThanOrEqual(1000);
    expect(largest).toBeGreaterThanOrEqual(500);
  });

  it('keeps an entry that is used while new keys pass through, and drops one that is not', () => {
    const cache = new RecentCache<string, string>(100);
    cache.set('busy', 'kept');
    cache.set('idle', 'dropped');
    for (let i = 0; i < 1000; i++) {
      cache.set(`one-off-${i}`, 'x');
      expect(cache.get('busy')).toBe('kept');
    }
    expect(cache.get('idle')).toBeUndefined();
  });

  it('gives back what was set, null values included, and forgets everything on clear()', () => {
    const cache = new RecentCache<string, string | null>(4);
    cache.set('private address', null);
    cache.set('a', '1');
    cache.set('a', '2');
    expect(cache.get('private address')).toBeNull();
    expect(cache.get('a')).toBe('2');
    expect(cache.get('missing')).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('a')).toBeUndefined();
  });

  it('a capacity of one still caches', () => {
    const cache = new RecentCache<string, number>(1);
    cache.set('a', 1);
    expect(cache.get('a')).toBe(1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.size).toBeLessThanOrEqual(2);
    expect(cache.get('c')).toBe(3);
  });
});
