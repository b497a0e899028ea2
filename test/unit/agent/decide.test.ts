import { describe, expect, it } from '@jest/globals';
import { buildAttributes } from '../../../src/agent/attributes';
import { decideFlags, type Person, trackEvent } from '../../../src/agent/decide';
import { CachedIdentityReader } from '../../../src/identity/cache';
import { InMemoryIdentityReader, now, profile, sampleProject } from '../../support/agent';

const ACCOUNT_FLAGS = ['team_dashboard'];

function personOf(p: ReturnType<typeof profile>): Person {
  return {
    experimentId: p.anchor.value,
    answerUserId: p.anchor.value,
    userId: p.userId,
    profile: p,
    matchedBy: p.matchedBy,
    accountId: p.primaryAccount?.id ?? null,
    source: 'cache',
  };
}

const noInput = {
  attributes: {},
  options: [],
  forcedDecisions: [],
  accountBucketedFlags: ACCOUNT_FLAGS,
  includeIdentity: true,
} as const;

describe('decideFlags on the sample datafile', () => {
  it('gives every member of an account one variation of an account-bucketed flag, while a user-bucketed flag varies', async () => {
    const { project } = await sampleProject();
    const team = new Set<string>();
    const search = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const member = personOf(profile(`member-${i}`, { account: { id: 'acct-42', traits: {} } }));
      const [dashboard, ranking] = now(
        decideFlags(project, member, {
          ...noInput,
          keys: ['team_dashboard', 'search_ranking'],
        }),
      );
      team.add(dashboard?.variationKey ?? '');
      search.add(ranking?.variationKey ?? '');
      expect(dashboard?.identity?.bucketingId).toBe('acct-42');
      expect(ranking?.identity?.bucketingId).toBe(`member-${i}`);
      expect(dashboard?.userContext.attributes.$opt_bucketing_id).toBe('acct-42');
      expect(ranking?.userContext.attributes).not.toHaveProperty('$opt_bucketing_id');
    }
    expect(team.size).toBe(1);
    expect(search.size).toBe(2);
  });

  it('targets the A/B test on the plan trait', async () => {
    const { project } = await sampleProject();
    const pro = profile('pro-user', { traits: { plan: 'pro' } });
    const free = profile('free-user', { traits: { plan: 'free' } });
    const decide = (p: ReturnType<typeof profile>) =>
      now(
        decideFlags(project, personOf(p), {
          ...noInput,
          attributes: buildAttributes({
            profile: p,
            requestAttributes: {},
            declared: project.forwardedAttributes,
            accountPrefix: 'account_',
            allowReserved: false,
          }),
          keys: ['checkout_redesign'],
        }),
      )[0];
    expect(decide(pro)?.ruleKey).toBe('checkout_redesign_test');
    expect(decide(free)?.ruleKey).toBe('default-rollout-21471300001');
  });

  it('answers an unknown flag key as the SDK does, with empty strings for Agent', async () => {
    const { project } = await sampleProject();
    const [decision] = now(
      decideFlags(project, personOf(profile('u1')), { ...noInput, keys: ['no_such_flag'] }),
    );
    expect(decision).toMatchObject({
      flagKey: 'no_such_flag',
      enabled: false,
      variationKey: '',
      ruleKey: '',
    });
    expect(decision?.reasons.join(' ')).toMatch(/No flag was found/);
  });

  it('decides every flag when no key is given and honours ENABLED_FLAGS_ONLY and forced decisions', async () => {
    const { project } = await sampleProject();
    const person = personOf(profile('u2'));
    const all = now(decideFlags(project, person, { ...noInput, keys: [] }));
    expect(all.map((d) => d.flagKey)).toEqual([
      'checkout_redesign',
      'team_dashboard',
      'search_ranking',
      'free_shipping_banner',
    ]);
    const enabled = now(
      decideFlags(project, person, { ...noInput, keys: [], options: ['ENABLED_FLAGS_ONLY'] }),
    );
    expect(enabled.every((d) => d.enabled)).toBe(true);
    expect(enabled.length).toBeLessThan(all.length);
    const forced = now(
      decideFlags(project, person, {
        ...noInput,
        keys: ['search_ranking'],
        forcedDecisions: [{ flagKey: 'search_ranking', variationKey: 'semantic' }],
      }),
    );
    expect(forced[0]?.variationKey).toBe('semantic');
  });

  it('captures decision events carrying the canonical user id, merged into one batch', async () => {
    const { project, dispatcher } = await sampleProject();
    const person = personOf(profile('canon-1', { account: { id: 'acct-1', traits: {} } }));
    const { batches } = now(
      dispatcher.capture(() =>
        now(
          decideFlags(project, person, {
            ...noInput,
            attributes: { plan: 'pro' },
            keys: ['team_dashboard', 'search_ranking'],
          }),
        ),
      ),
    );
    expect(batches).toHaveLength(1);
    expect(batches[0]?.visitors.map((v) => v.visitor_id)).toEqual(['canon-1', 'canon-1']);
    // Every event carries the uuid the SDK gave it: what makes redelivery idempotent.
    const uuids = batches[0]!.visitors.flatMap((v) =>
      v.snapshots.flatMap((s) => s.events.map((e) => e.uuid)),
    );
    expect(new Set(uuids).size).toBe(2);
  });

  it('sends no event for DISABLE_DECISION_EVENT and tracks known events only', async () => {
    const { project, dispatcher } = await sampleProject();
    const person = personOf(profile('u3'));
    const disabled = now(
      dispatcher.capture(() =>
        now(
          decideFlags(project, person, {
            ...noInput,
            keys: ['search_ranking'],
            options: ['DISABLE_DECISION_EVENT'],
          }),
        ),
      ),
    );
    expect(disabled.batches).toHaveLength(0);
    const unknown = now(dispatcher.capture(() => trackEvent(project, person, 'nope', {}, {}, false)));
    expect(unknown.result).toEqual({
      userId: 'u3',
      eventKey: 'nope',
      error: 'event with key "nope" not found',
    });
    expect(unknown.batches).toHaveLength(0);
    const known = now(
      dispatcher.capture(() =>
        trackEvent(project, person, 'purchase', { plan: 'pro' }, { revenue: 100 }, false),
      ),
    );
    expect(known.result.error).toBeUndefined();
    expect(known.batches).toHaveLength(1);
    expect(known.batches[0]?.visitors[0]?.snapshots[0]?.events[0]?.key).toBe('purchase');
  });
});

describe('identity cache', () => {
  const reader = () => {
    const inner = new InMemoryIdentityReader();
    inner.add(
      profile('albert-123', {
        identifiers: [
          { type: 'user_id', value: 'albert-123' },
          { type: 'anonymous_id', value: 'albert-xyz' },
        ],
      }),
    );
    return inner;
  };
  const byAnon = [{ type: 'anonymous_id', value: 'albert-xyz' }];

  it('answers a warm resolve without reading, and a miss with one read', async () => {
    const inner = reader();
    const cache = new CachedIdentityReader(inner, { ttlMs: 1000, negativeTtlMs: 100, maxEntries: 10 });
    expect((await cache.resolve(byAnon))?.anchor.value).toBe('albert-123');
    expect((await cache.resolve(byAnon))?.anchor.value).toBe('albert-123');
    expect(inner.calls).toBe(1);
  });

  it('expires entries after the TTL and negative ones after the shorter negative TTL', async () => {
    let now = 0;
    const inner = reader();
    const cache = new CachedIdentityReader(inner, {
      ttlMs: 1000,
      negativeTtlMs: 100,
      maxEntries: 10,
      now: () => now,
    });
    const unknown = [{ type: 'anonymous_id', value: 'nobody' }];
    await cache.resolve(byAnon);
    expect(await cache.resolve(unknown)).toBeNull();
    now = 150;
    await cache.resolve(byAnon);
    await cache.resolve(unknown);
    expect(inner.calls).toBe(3);
    now = 1200;
    await cache.resolve(byAnon);
    expect(inner.calls).toBe(4);
  });

  it('evicts the least recently used entry beyond the bound and shares concurrent misses', async () => {
    const inner = reader();
    const cache = new CachedIdentityReader(inner, { ttlMs: 1000, negativeTtlMs: 1000, maxEntries: 2 });
    await Promise.all([cache.resolve(byAnon), cache.resolve(byAnon)]);
    expect(inner.calls).toBe(1);
    await cache.resolve([{ type: 'user_id', value: 'a' }]);
    await cache.resolve(byAnon);
    await cache.resolve([{ type: 'user_id', value: 'b' }]);
    expect(cache.size).toBe(2);
    await cache.resolve(byAnon);
    expect(inner.calls).toBe(3);
  });

  it('keeps an entry that is hit between every insert while others come and go', async () => {
    const inner = reader();
    const cache = new CachedIdentityReader(inner, { ttlMs: 1000, negativeTtlMs: 1000, maxEntries: 4 });
    await cache.resolve(byAnon);
    for (let i = 0; i < 20; i++) {
      await cache.resolve([{ type: 'user_id', value: `passer-${i}` }]);
      await cache.resolve(byAnon);
    }
    expect(cache.size).toBe(4);
    // One read for the hot entry, one per passer-by: the hot entry was never evicted.
    expect(inner.calls).toBe(21);
  });
});
