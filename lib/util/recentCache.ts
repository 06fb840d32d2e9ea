/**
 * The package's bounded cache, for the request path, where a hit must cost one Map lookup. An LRU
 * moves an entry on every hit (a delete and a set, about 0.5 µs for a user agent key, three times
 * per request); this one keeps two generations instead: hits in the young one touch nothing, a hit in
 * the old one moves the entry to the young one, and when the young one is full it becomes the old
 * one and the old one is dropped whole.
 *
 * Holds at most `capacity` entries (2 when it is 1). An entry is kept while it is used at least once per
 * `capacity / 2` new keys, so what falls out first is what went unused longest, as in an LRU.
 */
export class RecentCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly generation: number;

  constructor(capacity: number) {
    this.generation = Math.max(1, Math.floor(capacity / 2));
  }

  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged !== undefined) {
      this.old.delete(key);
      this.add(key, aged);
    }
    return aged;
  }

  set(key: K, value: V): void {
    if (this.young.has(key)) {
      this.young.set(key, value);
      return;
    }
    this.old.delete(key);
    this.add(key, value);
  }

  /** Forgets everything, e.g. when what the values were derived from changes. */
  clear(): void {
    this.young = new Map();
    this.old = new Map();
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  private add(key: K, value: V): void {
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}
