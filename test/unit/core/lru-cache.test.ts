import { describe, expect, it } from '@jest/globals';
import { LruCache } from '../../../src/platform/core/lru-cache';

describe('LruCache', () => {
  it('serves entries until their TTL passes, and a per-entry TTL overrides the default', () => {
    let now = 0;
    const cache = new LruCache<string, string>({ maxEntries: 10, ttlMs: 30_000, now: () => now });
    cache.set('a', 'long');
    cache.set('b', 'short', 100);
    now = 99;
    expect(cache.get('b')).toBe('short');
    now = 100;
    expect(cache.get('b')).toBeUndefined();
    now = 29_999;
    expect(cache.get('a')).toBe('long');
    now = 30_000;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts the least recently used beyond its bound, and can be cleared', () => {
    const cache = new LruCache<string, number>({ maxEntries: 2, ttlMs: 1000, now: () => 0 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.get('a')).toBeUndefined();
    expect([...cache.values()]).toEqual([2, 3]);
    cache.clear();
    expect(cache.get('b')).toBeUndefined();
  });

  it('keeps an entry that is read often while newer ones push older ones out', () => {
    const cache = new LruCache<string, number>({ maxEntries: 8, ttlMs: 1000, now: () => 0 });
    cache.set('hot', 0);
    for (let i = 0; i < 100; i++) {
      cache.set(`cold-${i}`, i);
      expect(cache.get('hot')).toBe(0);
    }
    expect(cache.size).toBe(8);
  });

  it('stores nothing with a TTL of 0', () => {
    const cache = new LruCache<string, number>({ maxEntries: 2, ttlMs: 0 });
    cache.set('a', 1);
    expect(cache.has('a')).toBe(false);
  });
});
