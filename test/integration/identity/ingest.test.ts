import { randomUUID } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { benchPeople, graphEvents, mixedBatch } from '../../../bench/fixtures/segment-events';
import { eventLimitsFromConfig } from '../../../functions/from-config';
import { DynamoDbIdentityStore } from '../../../src/identity/dynamodb/identity-store';
import { identifierItemKey, profileItemKey } from '../../../src/identity/dynamodb/keys';
import { identifierKey } from '../../../src/identity/identifiers';
import { type IngestOptions, ingestChanges } from '../../../src/identity/ingest';
import { accountTraitsCache, createIdentityReader } from '../../../src/identity/reader';
import { createIdentityRules } from '../../../src/identity/rules';
import { loadConfig } from '../../../src/platform/config/env';
import { DependencyUnavailableError } from '../../../src/platform/core/errors';
import { countDynamoDbRequests, createDynamoDbClient } from '../../../src/platform/dynamodb/client';
import { ingestSegmentEvents } from '../../../src/segment/ingest-events';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { listProfiles } from '../../support/identity-items';
import {
  applyInMemory,
  type ComparableProfile,
  comparable,
  fixture,
  graphProfiles,
  type StreamEvent,
  sortProfiles,
  streamEventArb,
  streamToSegment,
} from '../../support/segment';

const rules = createIdentityRules();
let table: TestTable;
const noAccountCache = () => accountTraitsCache({ ttlMs: 0, maxEntries: 1 });

function newStore(now?: () => number): DynamoDbIdentityStore {
  return new DynamoDbIdentityStore({
    client: table.client,
    tableName: table.tableName,
    ...(now ? { now } : {}),
  });
}

function options(store = newStore()): IngestOptions {
  return { store, rules, profileTtlDays: 395, messageIdTtlHours: 48, tombstoneDays: 400 };
}

/** The deployment's default event limits, but old test timestamps are fine. */
const limits = {
  ...eventLimitsFromConfig(loadConfig({ TABLE_NAME: 'limits' })),
  maxEventAgeMs: 10 * 365 * 86_400_000,
};

async function ingest(events: readonly unknown[], store = newStore()) {
  return ingestSegmentEvents(events, { ...options(store), limits });
}

/** Every identifier the stream generator can produce for a run prefix. */
function universe(prefix: string) {
  const ids: { type: string; value: string }[] = [];
  for (let p = 0; p < 3; p++) {
    const person = `${prefix}p${p}`;
    ids.push({ type: 'user_id', value: `${person}-user` }, { type: 'email', value: `${person}@example.com` });
    ids.push({ type: 'ios.id', value: `${person}-device` });
    for (let a = 0; a < 3; a++) ids.push({ type: 'anonymous_id', value: `${person}-anon${a}` });
  }
  return ids;
}

/** The stored graph as the reader sees it, plus the invariant that every identifier maps to one profile. */
async function storedGraph(prefix: string): Promise<ComparableProfile[]> {
  const reader = createIdentityReader({
    store: newStore(),
    accountCache: accountTraitsCache({ ttlMs: 0, maxEntries: 1 }),
  });
  const byProfile = new Map<string, ComparableProfile>();
  const owner = new Map<string, string>();
  for (const identifier of universe(prefix)) {
    const resolved = await reader.resolve([identifier]);
    if (!resolved) continue;
    owner.set(identifierKey(identifier), resolved.profileId);
    byProfile.set(
      resolved.profileId,
      comparable({ ...resolved, primaryAccountId: resolved.primaryAccount?.id ?? null }, prefix),
    );
  }
  // The snapshot of each profile lists exactly the identifiers whose items point at it.
  for (const [profileId, profile] of byProfile) {
    for (const id of profile.identifiers) {
      const [type, ...rest] = id.split(':');
      expect(owner.get(identifierKey({ type: type!, value: `${prefix}${rest.join(':')}` }))).toBe(profileId);
    }
  }
  return sortProfiles([...byProfile.values()]);
}

/** No two live profile items share an identifier. */
async function assertNoIdentifierOnTwoProfiles(): Promise<void> {
  const seen = new Map<string, string>();
  for (const profile of await listProfiles(table)) {
    if (profile.expired) continue;
    for (const identifier of profile.state.identifiers) {
      const key = identifierKey(identifier);
      expect(seen.get(key)).toBeUndefined();
      seen.set(key, profile.state.id);
    }
  }
}

function reference(events: readonly StreamEvent[], prefix: string): ComparableProfile[] {
  return graphProfiles(rules, applyInMemory(rules, streamToSegment(events, prefix)), prefix);
}

function chunks<T>(items: readonly T[], count: number): T[][] {
  const out: T[][] = Array.from({ length: count }, () => []);
  items.forEach((item, i) => {
    out[i % count]!.push(item);
  });
  return out.filter((c) => c.length > 0);
}

beforeAll(async () => {
  // No relay runs here: a table without the stream, as the figures this file checks do not need one.
  table = await createTestTable('ingest', { stream: false });
});

afterAll(async () => {
  await table.drop();
});

describe('ingest into DynamoDB', () => {
  it('converges to the in-memory graph in one pass, and replaying changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(streamEventArb, { minLength: 1, maxLength: 20 }), async (events) => {
        const prefix = `r${randomUUID().slice(0, 8)}-`;
        const segment = streamToSegment(events, prefix);
        const first = await ingest(segment);
        expect(first.accepted).toBe(events.length);
        const expected = reference(events, prefix);
        expect(await storedGraph(prefix)).toEqual(expected);

        // A Segment retry: same messageIds, all duplicates.
        const replay = await ingest(segment);
        expect(replay).toMatchObject({ accepted: 0, duplicates: events.length });
        // The same facts under new messageIds (Engage re-sends, replays): still the same graph.
        await ingest(streamToSegment(events, prefix, 'again'));
        expect(await storedGraph(prefix)).toEqual(expected);
      }),
      { numRuns: 12 },
    );
    await assertNoIdentifierOnTwoProfiles();
  }, 120_000);

  it('converges when the events arrive shuffled over several requests', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(streamEventArb, { minLength: 2, maxLength: 20 }),
        fc.integer({ min: 2, max: 4 }),
        fc.integer(),
        async (events, parts, seed) => {
          const prefix = `s${randomUUID().slice(0, 8)}-`;
          const segment = streamToSegment(events, prefix);
          const shuffled = [...segment].sort(
            (a, b) => hash(`${seed}${a.messageId}`) - hash(`${seed}${b.messageId}`),
          );
          for (const part of chunks(shuffled, parts)) await ingest(part);
          expect(await storedGraph(prefix)).toEqual(reference(events, prefix));
        },
      ),
      { numRuns: 10 },
    );
  }, 120_000);

  it('gives the same profiles when invalid events are mixed in as when they are left out', async () => {
    // Each invalid event is a valid one of the stream, broken one way: it names the same people,
    // so applying any part of it would show in their profiles.
    const breakers: ((e: Record<string, unknown>) => unknown)[] = [
      (e) => ({ ...e, timestamp: '1' }),
      (e) => ({ ...e, timestamp: '9999-12-31T00:00:00Z' }),
      (e) => ({ ...e, userId: 'u'.repeat(2000) }),
      (e) => ({ ...e, anonymousId: `${String(e.anonymousId ?? e.userId)}\ud800` }),
      (e) =>
        JSON.parse(JSON.stringify({ ...e, traits: { plan: 'hacked' } }).replace('"plan"', '"__proto__"')),
      (e) => ({ ...e, traits: { constructor: 'x', plan: 'hacked' } }),
      (e) => ({
        ...e,
        context: { traits: Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`k${i}`, i])) },
      }),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(streamEventArb, { minLength: 1, maxLength: 15 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(breakers.length - 1)), { minLength: 1, maxLength: 6 }),
        async (events, inserts) => {
          const prefix = `v${randomUUID().slice(0, 8)}-`;
          const valid = streamToSegment(events, prefix);
          const mixed: unknown[] = [...valid];
          inserts.forEach(([at, which], k) => {
            const source = valid[at % valid.length]!;
            mixed.splice(at % (mixed.length + 1), 0, {
              ...(breakers[which]!({ ...source }) as object),
              messageId: `${prefix}bad${k}`,
            });
          });
          const summary = await ingest(mixed);
          expect(summary.rejected).toHaveLength(inserts.length);
          expect(await storedGraph(prefix)).toEqual(reference(events, prefix));
        },
      ),
      { numRuns: 12 },
    );
  }, 120_000);

  it('converges when the events are split across concurrent invocations', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(streamEventArb, { minLength: 2, maxLength: 20 }),
        fc.integer({ min: 2, max: 4 }),
        async (events, parts) => {
          const prefix = `c${randomUUID().slice(0, 8)}-`;
          const segment = streamToSegment(events, prefix);
          // Each invocation has its own store, as separate Lambda containers would; one replays all.
          await Promise.all([...chunks(segment, parts).map((part) => ingest(part)), ingest(segment)]);
          expect(await storedGraph(prefix)).toEqual(reference(events, prefix));
        },
      ),
      { numRuns: 10 },
    );
    await assertNoIdentifierOnTwoProfiles();
  }, 120_000);

  it('merges into one profile when concurrent requests link the same new user', async () => {
    const prefix = `m${randomUUID().slice(0, 8)}-`;
    const events = Array.from({ length: 6 }, (_, i) => ({
      type: 'identify',
      messageId: `${prefix}${i}`,
      timestamp: `2026-11-01T12:00:0${i}.000Z`,
      userId: `${prefix}user`,
      anonymousId: `${prefix}anon-${i % 3}`,
      traits: { [`t${i}`]: i },
    }));
    const results = await Promise.all(events.map((e) => ingest([e])));
    expect(results.reduce((n, r) => n + r.accepted, 0)).toBe(6);
    const reader = createIdentityReader({ store: newStore(), accountCache: noAccountCache() });
    const profile = await reader.resolve([{ type: 'anonymous_id', value: `${prefix}anon-2` }]);
    // The first event brought the user id and anon-0 at once: the anonymous id anchors (the id the
    // person was decided on while unknown), whichever request won the race.
    expect(profile?.anchor).toEqual({ type: 'anonymous_id', value: `${prefix}anon-0` });
    expect(profile?.userId).toBe(`${prefix}user`);
    expect(profile?.traits).toEqual({ t0: 0, t1: 1, t2: 2, t3: 3, t4: 4, t5: 5 });
    expect(profile?.identifiers).toHaveLength(4);
    await assertNoIdentifierOnTwoProfiles();
  });

  it('keeps two users apart when they share a device, within one batch and across concurrent ones', async () => {
    const p = `o${randomUUID().slice(0, 8)}-`;
    const track = (n: number, user: string, anon: string) => ({
      type: 'track',
      event: 'App Opened',
      messageId: `${p}${n}`,
      timestamp: `2026-11-01T00:00:0${n}.000Z`,
      userId: `${p}${user}`,
      anonymousId: `${p}${anon}`,
      context: { device: { id: `${p}shared-ipad`, type: 'ios' } },
    });
    await ingest([track(1, 'alice', 'a-web'), track(2, 'bob', 'b-web')]);
    await Promise.all([ingest([track(3, 'carol', 'c-web')]), ingest([track(4, 'dave', 'd-web')])]);
    const reader = createIdentityReader({ store: newStore(), accountCache: noAccountCache() });
    const owners = await Promise.all(
      ['alice', 'bob', 'carol', 'dave'].map((u) => reader.resolve([{ type: 'user_id', value: `${p}${u}` }])),
    );
    expect(new Set(owners.map((o) => o?.profileId)).size).toBe(4);
    for (const owner of owners)
      expect(owner?.identifiers.filter((i) => i.type === 'user_id')).toHaveLength(1);
    // Each user keeps their own anonymous id; the device stays with the first user only.
    expect(owners[1]?.identifiers).toContainEqual(
      expect.objectContaining({ type: 'anonymous_id', value: `${p}b-web` }),
    );
    const device = await reader.resolve([{ type: 'ios.id', value: `${p}shared-ipad` }]);
    expect(device?.profileId).toBe(owners[0]?.profileId);
    await assertNoIdentifierOnTwoProfiles();
  });

  it('commits a person with more events than one transaction holds, exactly once', async () => {
    const p = `big${randomUUID().slice(0, 8)}-`;
    const events = Array.from({ length: 180 }, (_, i) => ({
      type: 'track',
      event: 'Product Viewed',
      messageId: `${p}${i}`,
      timestamp: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
      userId: `${p}user`,
      context: { traits: { last_seen: i } },
    }));
    expect(await ingest(events)).toMatchObject({ accepted: 180, duplicates: 0 });
    expect(await ingest(events)).toMatchObject({ accepted: 0, duplicates: 180 });
    const profile = await createIdentityReader({ store: newStore(), accountCache: noAccountCache() }).resolve(
      [{ type: 'user_id', value: `${p}user` }],
    );
    expect(profile?.traits).toEqual({ last_seen: 179 });
  });

  it('recomputes from a fresh read when a concurrent invocation commits first, merging both', async () => {
    const p = `i${randomUUID().slice(0, 8)}-`;
    const change = (n: number, ids: { type: string; value: string }[], traits: Record<string, string>) => ({
      messageId: `${p}${n}`,
      kind: 'link' as const,
      at: Date.UTC(2026, 10, 1, 0, 0, n),
      identifiers: ids,
      traits,
      audiences: {},
    });
    const anon = { type: 'anonymous_id', value: `${p}a1` };
    const user = { type: 'user_id', value: `${p}u1` };
    const email = { type: 'email', value: `${p}@example.com` };
    // Invocation B commits between invocation A's reads and its write (a real race, forced).
    class RacingStore extends DynamoDbIdentityStore {
      raced = false;
      override async write(units: Parameters<DynamoDbIdentityStore['write']>[0]) {
        if (!this.raced) {
          this.raced = true;
          await ingestChanges([change(2, [anon, email], { source: 'b' })], options());
        }
        return super.write(units);
      }
    }
    const racing = new RacingStore({ client: table.client, tableName: table.tableName });
    const result = await ingestChanges([change(1, [user, anon], { plan: 'pro' })], options(racing));
    expect(result).toMatchObject({ accepted: 1, attempts: 2 });
    const profile = await createIdentityReader({ store: newStore(), accountCache: noAccountCache() }).resolve(
      [email],
    );
    expect(profile).toMatchObject({ anchor: anon, userId: `${p}u1`, traits: { plan: 'pro', source: 'b' } });
    expect(profile?.identifiers).toHaveLength(3);
    await assertNoIdentifierOnTwoProfiles();
  });

  it('applies an Engage change sent once per identifier exactly as if it came once', async () => {
    const once = `e1${randomUUID().slice(0, 6)}-`;
    const many = `e2${randomUUID().slice(0, 6)}-`;
    const seed = (p: string) => ({
      type: 'identify',
      messageId: `${p}seed`,
      timestamp: '2026-11-01T10:00:00.000Z',
      userId: `${p}user`,
      anonymousId: `${p}anon`,
      traits: { email: `${p}@example.com` },
    });
    const audience = (p: string, id: Record<string, string>, n: number) => ({
      ...fixture('engage-audience-identify'),
      ...id,
      messageId: `${p}aud-${n}`,
      traits: { high_value_users: true },
    });
    await ingest([seed(once), audience(once, { userId: `${once}user` }, 0)]);
    await ingest([
      seed(many),
      audience(many, { userId: `${many}user` }, 0),
      audience(many, { anonymousId: `${many}anon` }, 1),
      {
        ...audience(many, { anonymousId: `${many}anon` }, 2),
        traits: { high_value_users: true, email: `${many}@example.com` },
      },
    ]);
    const reader = createIdentityReader({ store: newStore(), accountCache: noAccountCache() });
    const a = await reader.resolve([{ type: 'user_id', value: `${once}user` }]);
    const b = await reader.resolve([{ type: 'user_id', value: `${many}user` }]);
    expect(a?.audiences).toEqual(['high_value_users']);
    expect(b?.audiences).toEqual(a?.audiences);
    expect(b?.traits).toEqual({ email: `${many}@example.com` });
    expect(a?.traits).toEqual({ email: `${once}@example.com` });
  });

  it('does not let a late old event overwrite a newer trait', async () => {
    const p = `l${randomUUID().slice(0, 8)}-`;
    const identify = (n: number, at: string, traits: Record<string, unknown>) => ({
      type: 'identify',
      messageId: `${p}${n}`,
      timestamp: at,
      userId: `${p}user`,
      traits,
    });
    await ingest([identify(1, '2026-11-02T00:00:00.000Z', { plan: 'pro' })]);
    await ingest([identify(2, '2026-10-01T00:00:00.000Z', { plan: 'free', seats: 2 })]);
    const profile = await createIdentityReader({ store: newStore(), accountCache: noAccountCache() }).resolve(
      [{ type: 'user_id', value: `${p}user` }],
    );
    expect(profile?.traits).toEqual({ plan: 'pro', seats: 2 });
  });

  it('deletes the profile, its identifiers and memberships', async () => {
    const p = `d${randomUUID().slice(0, 8)}-`;
    await ingest([
      {
        type: 'identify',
        messageId: `${p}1`,
        timestamp: '2026-11-01T00:00:00Z',
        userId: `${p}u`,
        anonymousId: `${p}a`,
      },
      {
        type: 'group',
        messageId: `${p}2`,
        timestamp: '2026-11-01T00:00:01Z',
        userId: `${p}u`,
        groupId: `${p}acct`,
        traits: { plan: 'x' },
      },
    ]);
    const reader = createIdentityReader({ store: newStore(), accountCache: noAccountCache() });
    expect(await reader.resolve([{ type: 'anonymous_id', value: `${p}a` }])).not.toBeNull();
    const result = await ingest([{ type: 'delete', userId: `${p}u`, timestamp: '2026-11-02T00:00:00Z' }]);
    expect(result.accepted).toBe(1);
    expect(await reader.resolve([{ type: 'anonymous_id', value: `${p}a` }])).toBeNull();
    expect(await reader.resolve([{ type: 'user_id', value: `${p}u` }])).toBeNull();
    expect(
      (await listProfiles(table)).some((x) => x.state.identifiers.some((i) => i.value === `${p}u`)),
    ).toBe(false);
  });

  it('resolves in one DynamoDB request once the account traits are cached, and ignores expired items', async () => {
    const p = `q${randomUUID().slice(0, 8)}-`;
    await ingest([
      {
        type: 'identify',
        messageId: `${p}1`,
        timestamp: '2026-11-01T00:00:00Z',
        userId: `${p}u`,
        traits: { email: `${p}@x.com`, plan: 'pro' },
      },
      {
        type: 'group',
        messageId: `${p}2`,
        timestamp: '2026-11-01T00:00:01Z',
        userId: `${p}u`,
        groupId: `${p}acct`,
        traits: { seats: 9 },
      },
    ]);
    const store = newStore();
    const reader = createIdentityReader({
      store,
      accountCache: accountTraitsCache({ ttlMs: 30_000, maxEntries: 100 }),
    });
    const lookup = [
      { type: 'anonymous_id', value: `${p}unknown` },
      { type: 'email', value: `${p.toUpperCase()}@X.COM` },
      { type: 'user_id', value: `${p}u` },
    ];
    const { result: first, requests } = await countDynamoDbRequests(() => reader.resolve(lookup));
    expect(first).toMatchObject({
      // The user id and the email arrived together: the user id anchors, an email never does.
      anchor: { type: 'user_id', value: `${p}u` },
      userId: `${p}u`,
      matchedBy: { type: 'email', value: `${p}@x.com` },
      traits: { plan: 'pro', email: `${p}@x.com` },
      accountIds: [`${p}acct`],
      primaryAccount: { id: `${p}acct`, traits: { seats: 9 } },
    });
    expect(requests).toBe(2);
    // The account's traits now come from the container's account cache.
    expect((await countDynamoDbRequests(() => reader.resolve(lookup))).requests).toBe(1);

    const later = newStore(() => Date.now() + 400 * 86_400_000);
    expect(
      await createIdentityReader({ store: later, accountCache: noAccountCache() }).resolve(lookup),
    ).toBeNull();
  });

  it('ingests a realistic 1,000-event batch in at most 1.5 DynamoDB requests per event', async () => {
    const people = benchPeople(334).map((person) => ({
      ...person,
      userId: `b-${person.userId}`,
      anonymousIds: person.anonymousIds.map((a) => `b-${a}`),
      email: `b-${person.email}`,
      accountId: `b-${person.accountId}`,
    }));
    const seed = graphEvents(people).slice(0, 1000);
    const seeded = await countDynamoDbRequests(() => ingest(seed));
    expect(seeded.result.accepted).toBe(1000);
    expect(seeded.requests / 1000).toBeLessThanOrEqual(1.5);

    const batch = mixedBatch(people, 1000, 'b-mixed');
    const mixed = await countDynamoDbRequests(() => ingest(batch));
    expect(mixed.result.accepted).toBe(1000);
    expect(mixed.requests / 1000).toBeLessThanOrEqual(1.5);
  }, 120_000);

  it('keeps the id of a profile written before stable experiment ids, when read and when rewritten', async () => {
    const p = `legacy${randomUUID().slice(0, 6)}-`;
    const user = { type: 'user_id', value: `${p}u` };
    const anon = { type: 'anonymous_id', value: `${p}a` };
    // Items as the previous version wrote them: no format, a snapshot with the canonical id (the
    // user id, although the anonymous id was seen first), identifiers without first sightings.
    const state = {
      identifiers: [
        { ...anon, firstSeen: 1000 },
        { ...user, firstSeen: 2000 },
      ],
      traits: {},
      audiences: {},
      accounts: {},
    };
    const snapshot = {
      profileId: `${p}profile`,
      version: 1,
      canonicalId: user.value,
      identifiers: [user, anon],
      traits: {},
      audiences: [],
      accountIds: [],
      primaryAccountId: null,
    };
    const expiresAt = { N: String(Math.floor(Date.now() / 1000) + 86_400) };
    const put = (key: { pk: string; sk: string }, item: Record<string, unknown>) =>
      table.client.send(
        new PutItemCommand({
          TableName: table.tableName,
          Item: { pk: { S: key.pk }, sk: { S: key.sk }, expiresAt, ...(item as Record<string, never>) },
        }),
      );
    await put(profileItemKey(`${p}profile`), { version: { N: '1' }, state: { S: JSON.stringify(state) } });
    for (const identifier of [user, anon]) {
      await put(identifierItemKey(identifier), {
        profileId: { S: `${p}profile` },
        version: { N: '1' },
        snapshot: { S: JSON.stringify(snapshot) },
      });
    }
    const reader = createIdentityReader({ store: newStore(), accountCache: noAccountCache() });
    expect(await reader.resolve([anon])).toMatchObject({
      anchor: user,
      anchorRule: 'legacy',
      userId: user.value,
    });

    // A new device joins: the profile is rewritten, and its legacy id is pinned.
    const device = { type: 'ios.id', value: `${p}phone` };
    await ingest([
      {
        type: 'track',
        event: 'App Opened',
        messageId: `${p}1`,
        timestamp: '2026-11-01T00:00:00Z',
        userId: user.value,
        context: { device: { id: device.value, type: 'ios' } },
      },
    ]);
    const rewritten = await reader.resolve([device]);
    expect(rewritten).toMatchObject({ anchor: user, anchorRule: 'legacy' });
    const [stored] = (await listProfiles(table)).filter((x) => x.state.id === `${p}profile`);
    expect(stored).toMatchObject({ legacy: false, state: { pinnedAnchor: user } });
  });

  it('fails with a DependencyUnavailableError when DynamoDB cannot be reached, so Segment retries', async () => {
    const unreachable = new DynamoDbIdentityStore({
      client: createDynamoDbClient({ endpoint: 'http://127.0.0.1:9' }),
      tableName: table.tableName,
    });
    const error = await ingest([fixture('identify')], unreachable).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
  });
});

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
