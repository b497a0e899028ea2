import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { decideFlags } from '../../../src/agent/decide';
import { OverrideBook, withOverrides } from '../../../src/agent/overrides';
import { UserProfileBridge } from '../../../src/agent/profiles';
import type { OverrideStore } from '../../../src/agent/stores';
import { runDecision } from '../../../src/optimizely/decision-scope';
import { createOptimizelyClient } from '../../../src/optimizely/projects';
import { now, sampleProject } from '../../support/agent';

class CountingOverrides implements OverrideStore {
  readonly items = new Map<string, string>();
  lists = 0;
  failNext = false;

  async list(sdkKey: string) {
    this.lists++;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('throttled');
    }
    const out = new Map<string, Map<string, string>>();
    for (const [key, variation] of this.items) {
      const [k, user, experiment] = JSON.parse(key) as [string, string, string];
      if (k !== sdkKey) continue;
      out.set(user, (out.get(user) ?? new Map()).set(experiment, variation));
    }
    return out;
  }
  async get(sdkKey: string, userId: string, experimentKey: string) {
    return this.items.get(JSON.stringify([sdkKey, userId, experimentKey])) ?? null;
  }
  async put(sdkKey: string, userId: string, experimentKey: string, variationKey: string) {
    this.items.set(JSON.stringify([sdkKey, userId, experimentKey]), variationKey);
  }
  async remove(sdkKey: string, userId: string, experimentKey: string) {
    this.items.delete(JSON.stringify([sdkKey, userId, experimentKey]));
  }
  async projects() {
    return [...new Set([...this.items.keys()].map((key) => (JSON.parse(key) as string[])[0]!))];
  }
}

const datafile = readFileSync(
  resolve(
    import.meta.dirname,
    '..',
    '..',
    'fixtures',
    'agent',
    'acceptance',
    'datafile_KZbunNn9bVfBWLpZPq2XC4.json',
  ),
  'utf8',
);
const noEvents = { dispatchEvent: async () => ({ statusCode: 200 }) };
const hola = { attr_1: 'hola' };

/** Runs `fn` as one decision of `userId` with the saved profile `buckets` (as decideWithState does). */
const decideAs = <T>(userId: string, buckets: Record<string, { variation_id: string }>, fn: () => T) =>
  runDecision({ userId, buckets, saved: null }, fn, false);

describe('OverrideBook', () => {
  it("reads a project's overrides once per TTL, sees its own writes at once, and never caches a failed read", async () => {
    let now = 0;
    const store = new CountingOverrides();
    const book = new OverrideBook(store, { ttlMs: 10_000, now: () => now });
    expect((await book.forUser('k', 'u')).size).toBe(0);
    expect((await book.forUser('k', 'v')).size).toBe(0);
    expect(store.lists).toBe(1);

    // Another container writes: not seen until the TTL passes.
    await store.put('k', 'u', 'exp', 'b');
    expect((await book.forUser('k', 'u')).get('exp')).toBeUndefined();
    now = 10_001;
    expect((await book.forUser('k', 'u')).get('exp')).toBe('b');

    // This container writes: seen at once, with the previous value reported.
    expect(await book.set('k', 'u', 'exp', 'c')).toEqual({ previous: 'b' });
    expect((await book.forUser('k', 'u')).get('exp')).toBe('c');
    expect(await book.remove('k', 'u', 'exp')).toEqual({ previous: 'c' });
    expect(await book.remove('k', 'u', 'exp')).toEqual({ previous: null });

    store.failNext = true;
    await expect(book.forUser('k', 'u')).rejects.toThrow('throttled');
    expect((await book.forUser('k', 'u')).size).toBe(0);
  });
});

describe('withOverrides', () => {
  it('forces the variation for this decision only, even when the decision throws', () => {
    const client = createOptimizelyClient(datafile, noEvents);
    const overrides = new Map([['ab_test1', 'variation_2']]);
    expect(withOverrides(client, 'u1', overrides, () => client.getVariation('ab_test1', 'u1', hola))).toBe(
      'variation_2',
    );
    expect(client.getVariation('ab_test1', 'u1', hola)).toBe('variation_1');
    expect(() =>
      withOverrides(client, 'u1', overrides, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(client.getVariation('ab_test1', 'u1', hola)).toBe('variation_1');
    // Unknown experiments or variations are ignored, as Agent ignores them.
    const unknown = new Map([
      ['no_such_experiment', 'x'],
      ['ab_test1', 'no_such_variation'],
    ]);
    expect(withOverrides(client, 'u1', unknown, () => client.getVariation('ab_test1', 'u1', hola))).toBe(
      'variation_1',
    );
  });
});

describe('UserProfileBridge', () => {
  it("answers the running decision's profile, collects what the SDK saves, and knows nobody outside a decision", () => {
    const bridge = new UserProfileBridge();
    const client = createOptimizelyClient(datafile, noEvents, { userProfileService: bridge });
    const sticky = { '16911963060': { variation_id: '16927770169' } };
    // The saved variation_2 wins over bucketing (which would give variation_1), audiences unchecked.
    const { result, saved } = now(decideAs('u2', sticky, () => client.getVariation('ab_test1', 'u2')));
    expect(result).toBe('variation_2');
    expect(saved).toBeNull();

    const fresh = now(decideAs('u3', {}, () => client.activate('ab_test1', 'u3', hola)));
    expect(fresh.result).toBe('variation_1');
    expect(fresh.saved).toEqual({ '16911963060': { variation_id: '16905941566' } });

    expect(bridge.lookup('u3')).toBeNull();
    bridge.save({ user_id: 'u3', experiment_bucket_map: {} });
    expect(now(decideAs('u4', {}, () => bridge.lookup('u3')))).toMatchObject({ result: null, saved: null });
  });
});

describe('sticky bucketing and account-level bucketing', () => {
  it('keeps a person-bucketed flag on the saved variation, while an account-bucketed one stays with the account', async () => {
    const bridge = new UserProfileBridge();
    const { project } = await sampleProject(bridge);
    const member = {
      experimentId: 'member-7',
      answerUserId: 'member-7',
      userId: 'member-7',
      profile: null,
      matchedBy: null,
      accountId: 'acct-1',
      source: 'request' as const,
    };
    const input = {
      keys: ['team_dashboard', 'search_ranking'],
      attributes: {},
      options: ['DISABLE_DECISION_EVENT'] as const,
      forcedDecisions: [],
      accountBucketedFlags: ['team_dashboard'],
      includeIdentity: false,
    };
    const natural = now(decideFlags(project, member, input)).map((d) => d.variationKey);
    const variations: Record<string, Record<string, string>> = {
      team_dashboard: { classic: '21471600003', modern: '21471600004' },
      search_ranking: { keyword: '21471600005', semantic: '21471600006' },
    };
    const other = (flag: string, key: string | undefined) =>
      Object.entries(variations[flag] ?? {}).find(([k]) => k !== key) as [string, string];
    const [teamOther, teamOtherId] = other('team_dashboard', natural[0]);
    const [searchOther, searchOtherId] = other('search_ranking', natural[1]);
    const saved = {
      '21471100002': { variation_id: teamOtherId },
      '21471100003': { variation_id: searchOtherId },
    };
    const { result } = now(decideAs('member-7', saved, () => now(decideFlags(project, member, input))));
    expect(result.map((d) => d.variationKey)).toEqual([natural[0], searchOther]);
    expect(teamOther).not.toBe(natural[0]);
  });
});
