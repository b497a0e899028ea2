/**
 * What sources that know a person's history at once (the Profile API, Profiles Sync) need of the
 * identity rules: each identifier's own first sighting, each trait's own update time, an account's
 * join time, changes that attach to a person without creating one, and Segment's profile id as a
 * join key that never anchors an experiment id. Also: the Profile API token is read on its own.
 */
import { describe, expect, it } from '@jest/globals';
import { profileAnchor } from '../../../src/identity/experiment-id';
import {
  applyChange,
  emptyEffects,
  emptyGraph,
  type IdentityChange,
  memberUpdates,
} from '../../../src/identity/graph';
import { SEGMENT_ID_TYPE } from '../../../src/identity/identifiers';
import { type AccountState, LISTED_MEMBERS, mergeMembers } from '../../../src/identity/profile';
import { createIdentityRules, keptWithinLimits } from '../../../src/identity/rules';
import { loadConfig } from '../../../src/platform/config/env';
import { MAIN_SECRETS, secretsSource } from '../../../src/platform/config/secrets';

const rules = createIdentityRules();
const change = (partial: Partial<IdentityChange>): IdentityChange => ({
  messageId: 'm',
  kind: 'link',
  at: 10_000,
  identifiers: [],
  traits: {},
  audiences: {},
  ...partial,
});

describe('changes that know their history', () => {
  it('link each identifier at its own first sighting, stamp each trait and membership at its own time', () => {
    const graph = emptyGraph();
    applyChange(
      rules,
      graph,
      emptyEffects(),
      change({
        identifiers: [
          { type: 'anonymous_id', value: 'a', firstSeen: 1_000 },
          { type: 'user_id', value: 'u', firstSeen: 99_000 },
        ],
        traits: { plan: 'pro', seats: 2 },
        traitTimes: { plan: 12_000 },
        account: { id: 'acme', traits: {}, joinedAt: 4_000 },
      }),
      () => 'p',
    );
    const profile = graph.profiles.get('p')!;
    // A first sighting after the change's own time is the change's time.
    expect(profile.identifiers.map((i) => [i.value, i.firstSeen])).toEqual([
      ['u', 10_000],
      ['a', 1_000],
    ]);
    expect(profile.traits).toEqual({ plan: { value: 'pro', at: 12_000 }, seats: { value: 2, at: 10_000 } });
    expect(profile.accounts).toEqual({ acme: { joinedAt: 4_000 } });
  });

  it('attach to an existing person only: an attach change creates nobody', () => {
    const graph = emptyGraph();
    const effects = emptyEffects();
    const attach = change({
      kind: 'attach',
      identifiers: [{ type: SEGMENT_ID_TYPE, value: 'c' }],
      traits: { plan: 'pro' },
    });
    expect(applyChange(rules, graph, effects, attach, () => 'x')).toEqual({
      status: 'ignored',
      reason: 'no profile holds these identifiers yet (their person is not loaded)',
    });
    expect(graph.profiles.size).toBe(0);
    applyChange(
      rules,
      graph,
      effects,
      change({
        identifiers: [
          { type: SEGMENT_ID_TYPE, value: 'c' },
          { type: 'user_id', value: 'u' },
        ],
      }),
      () => 'p',
    );
    expect(applyChange(rules, graph, effects, attach, () => 'x')).toMatchObject({
      status: 'applied',
      profileId: 'p',
    });
  });

  it('never anchor on Segment’s profile id, unless a profile has nothing else', () => {
    const seg = { type: SEGMENT_ID_TYPE, value: 'use_1', firstSeen: 1 };
    const user = { type: 'user_id', value: 'u', firstSeen: 5 };
    expect(profileAnchor(rules, [seg, user])).toBe(user);
    expect(profileAnchor(rules, [seg])).toBe(seg);
  });

  it('keep, per type, the earliest identifiers within the limits and the one that must stay', () => {
    const anons = Array.from({ length: 7 }, (_, i) => ({
      type: 'anonymous_id',
      value: `a${i}`,
      firstSeen: 7 - i,
    }));
    const users = [
      { type: 'user_id', value: 'late', firstSeen: 9 },
      { type: 'user_id', value: 'early', firstSeen: 1 },
    ];
    const kept = keptWithinLimits(rules, [...anons, ...users], { type: 'anonymous_id', value: 'a0' });
    expect(kept.map((i) => i.value).sort()).toEqual(['a0', 'a3', 'a4', 'a5', 'a6', 'early']);
  });
});

describe('an account’s members', () => {
  it('lists the earliest 20 joiners whatever the order, and takes merged-away and deleted members off', () => {
    const updates = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [`p${i}`, 1_000 + ((i * 7) % 30)]),
    );
    const forward: AccountState = { id: 'acme', traits: {} };
    const backward: AccountState = { id: 'acme', traits: {} };
    expect(mergeMembers(forward, updates)).toBe(true);
    for (const entry of Object.entries(updates).reverse())
      mergeMembers(backward, Object.fromEntries([entry]));
    expect(Object.keys(forward.members!)).toHaveLength(LISTED_MEMBERS);
    expect(forward.members).toEqual(backward.members);
    expect(mergeMembers(forward, updates)).toBe(false);
    expect(mergeMembers(forward, { p0: null })).toBe(true);
    expect(forward.members!.p0).toBeUndefined();

    const graph = emptyGraph();
    const effects = emptyEffects();
    let n = 0;
    const apply = (c: Partial<IdentityChange>) =>
      applyChange(rules, graph, effects, change(c), () => `p${n++}`);
    apply({ identifiers: [{ type: 'user_id', value: 'a' }], account: { id: 'acme', traits: {} }, at: 1 });
    apply({
      identifiers: [{ type: 'anonymous_id', value: 'x' }],
      account: { id: 'acme', traits: {} },
      at: 2,
    });
    apply({
      identifiers: [
        { type: 'user_id', value: 'a' },
        { type: 'anonymous_id', value: 'x' },
      ],
      at: 3,
    });
    expect(memberUpdates(graph, effects).get('acme')).toEqual({ p0: 1, p1: null });
    apply({ kind: 'delete', identifiers: [{ type: 'user_id', value: 'a' }], at: 4 });
    expect(memberUpdates(graph, effects).get('acme')).toEqual({ p0: null, p1: null });
  });
});

describe('the Profile API token', () => {
  it('is not among the secrets a function reads to serve its requests', () => {
    expect(MAIN_SECRETS).not.toContain('profileApi');
    const config = loadConfig({ TABLE_NAME: 't', SEGMENT_PROFILE_API_TOKEN: 'tok', API_KEYS: 'k' });
    // Locally every variable is there; deployed, a source reads only its purposes' secrets.
    expect(secretsSource(config).fresh()).toMatchObject({ apiKeys: ['k'], segmentProfileApiToken: 'tok' });
    const deployed = loadConfig({ TABLE_NAME: 't', PROFILE_API_SECRET_ARN: 'arn:aws:secretsmanager:x' });
    expect(secretsSource(deployed).fresh()).toEqual({ apiKeys: [], adminApiKeys: [] });
  });
});
