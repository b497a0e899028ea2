import { describe, expect, it } from '@jest/globals';
import { AccountTraitsCache } from '../../../functions/identity/reader';

describe('AccountTraitsCache', () => {
  it('serves entries until the TTL passes', () => {
    let now = 0;
    const cache = new AccountTraitsCache(30_000, 10, () => now);
    cache.set('acme', { plan: 'pro' });
    now = 29_999;
    expect(cache.get('acme')).toEqual({ plan: 'pro' });
    now = 30_000;
    expect(cache.get('acme')).toBeUndefined();
  });

  it('evicts the oldest entries beyond its bound, and can be cleared', () => {
    const cache = new AccountTraitsCache(30_000, 2, () => 0);
    cache.set('a', {});
    cache.set('b', {});
    cache.set('c', {});
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toEqual({});
    cache.clear();
    expect(cache.get('b')).toBeUndefined();
  });

  it('caches nothing with a TTL of 0', () => {
    const cache = new AccountTraitsCache(0);
    cache.set('a', { x: 1 });
    expect(cache.get('a')).toBeUndefined();
  });
});
