/**
 * The user profile service's container cache and its writes, on DynamoDB Local: a returning person
 * costs no request, a decision that adds nothing writes nothing, and a write adds its entries to
 * what is stored, keeping those another container added since this one read the profile.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { changedEntries, storeProfile } from '../../../src/agent/agent-state';
import { DynamoDbUserProfileStore } from '../../../src/agent/dynamodb/stores';
import { ProfileBook } from '../../../src/agent/profiles';
import { countDynamoDbRequests } from '../../../src/platform/dynamodb/client';
import { createTestTable, type TestTable } from '../../support/dynamodb';

let table: TestTable;
let store: DynamoDbUserProfileStore;

beforeAll(async () => {
  table = await createTestTable('profile-cache');
  store = new DynamoDbUserProfileStore({ client: table.client, tableName: table.tableName, ttlDays: 1 });
});
afterAll(() => table.drop());

const entry = (variation: string) => ({ variation_id: variation });

describe('ProfileBook', () => {
  it('reads a profile once per TTL, then answers without a request or an await', async () => {
    let now = 0;
    const book = new ProfileBook(store, { ttlMs: 30_000, maxEntries: 100, now: () => now });
    await store.put('k', 'p1', { e1: entry('v1') });
    const first = await countDynamoDbRequests(async () => book.get('k', 'p1'));
    expect(first).toEqual({ result: { e1: entry('v1') }, requests: 1 });
    const again = await countDynamoDbRequests(async () => book.get('k', 'p1'));
    expect(again.requests).toBe(0);
    expect(book.get('k', 'p1')).toEqual({ e1: entry('v1') });

    await store.put('k', 'p1', { e1: entry('v1'), e2: entry('v2') });
    expect(book.get('k', 'p1')).toEqual({ e1: entry('v1') });
    now = 30_001;
    expect(await book.get('k', 'p1')).toEqual({ e1: entry('v1'), e2: entry('v2') });
  });

  it('adds entries to what is stored, keeping those another container wrote after this one read', async () => {
    const mine = new ProfileBook(store, { ttlMs: 30_000, maxEntries: 100 });
    const theirs = new ProfileBook(store, { ttlMs: 30_000, maxEntries: 100 });
    expect(await mine.get('k', 'p2')).toBeNull();
    expect(await theirs.get('k', 'p2')).toBeNull();
    await theirs.add('k', 'p2', null, { e1: entry('a') });
    // This container still holds "no profile": its write must not drop e1.
    await mine.add('k', 'p2', null, { e2: entry('b') });
    expect(await store.get('k', 'p2')).toEqual({ e1: entry('a'), e2: entry('b') });
    expect(mine.get('k', 'p2')).toEqual({ e1: entry('a'), e2: entry('b') });

    await theirs.add('k', 'p2', { e1: entry('a') }, { e3: entry('c') });
    await mine.add('k', 'p2', { e1: entry('a'), e2: entry('b') }, { e4: entry('d') });
    expect(await store.get('k', 'p2')).toEqual({
      e1: entry('a'),
      e2: entry('b'),
      e3: entry('c'),
      e4: entry('d'),
    });
  });

  it('writes nothing when a decision saved only entries already stored', async () => {
    const book = new ProfileBook(store, { ttlMs: 30_000, maxEntries: 100 });
    await store.put('k', 'p3', { e1: entry('v1') });
    const stored = await book.get('k', 'p3');
    const state = { overrides: null, profiles: { store: book, bridge: undefined as never } };
    const unchanged = await countDynamoDbRequests(async () =>
      storeProfile(state, 'k', 'p3', { e1: entry('v1') }, { stored }),
    );
    expect(unchanged.requests).toBe(0);
    // Not even a promise: a returning person's decide awaits nothing for its profile.
    expect(storeProfile(state, 'k', 'p3', { e1: entry('v1') }, { stored })).toBeUndefined();
    const added = await countDynamoDbRequests(async () =>
      storeProfile(state, 'k', 'p3', { e1: entry('v1'), e2: entry('v2') }, { stored }),
    );
    expect(added.requests).toBe(1);
    expect(await store.get('k', 'p3')).toEqual({ e1: entry('v1'), e2: entry('v2') });
  });

  it('does not keep a failed read', async () => {
    let fail = true;
    const flaky = {
      get: async () => {
        if (fail) throw new Error('throttled');
        return { e1: entry('v1') };
      },
    } as unknown as DynamoDbUserProfileStore;
    const book = new ProfileBook(flaky, { ttlMs: 30_000, maxEntries: 100 });
    await expect(book.get('k', 'p4')).rejects.toThrow('throttled');
    fail = false;
    expect(await book.get('k', 'p4')).toEqual({ e1: entry('v1') });
  });
});

describe('changedEntries', () => {
  it('keeps only entries the stored profile lacks or holds with another variation', () => {
    expect(changedEntries({ e1: entry('a') }, { e1: entry('a') })).toBeNull();
    expect(changedEntries(null, { e1: entry('a') })).toEqual({ e1: entry('a') });
    expect(changedEntries({ e1: entry('a') }, { e1: entry('b'), e2: entry('c') })).toEqual({
      e1: entry('b'),
      e2: entry('c'),
    });
  });
});
