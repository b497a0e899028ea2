import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  applyChange,
  emptyEffects,
  emptyGraph,
  type GraphState,
  type IdentityChange,
} from '../../../src/identity/graph';
import { identifierKey } from '../../../src/identity/identifiers';
import { anchorOf, primaryAccountId, profileSnapshot } from '../../../src/identity/profile';
import { createIdentityRules, isBlocked, parseLimits } from '../../../src/identity/rules';
import { applyInMemory, graphProfiles, streamEventArb, streamToSegment } from '../../support/segment';

const rules = createIdentityRules();

function change(
  partial: Partial<IdentityChange> & { identifiers: IdentityChange['identifiers'] },
): IdentityChange {
  return { messageId: 'm', kind: 'link', at: 1000, traits: {}, audiences: {}, ...partial };
}

function run(changes: IdentityChange[]): GraphState {
  const graph = emptyGraph();
  const effects = emptyEffects();
  let n = 0;
  for (const c of changes) applyChange(rules, graph, effects, c, () => `p${n++}`);
  return graph;
}

const user = (value: string) => ({ type: 'user_id', value });
const anon = (value: string) => ({ type: 'anonymous_id', value });
const device = (value: string) => ({ type: 'ios.id', value });
const email = (value: string) => ({ type: 'email', value });

function ownerOf(graph: GraphState, identifier: { type: string; value: string }): string | undefined {
  return graph.index.get(identifierKey(identifier));
}

describe('identity rules', () => {
  it('blocks placeholder values case-insensitively', () => {
    for (const value of [
      '0',
      '0000-0000',
      '00000000-0000-0000-0000-000000000000',
      '-1',
      'null',
      'NULL',
      'undefined',
      'Anonymous',
      ' ',
      '',
    ]) {
      expect(isBlocked(rules, anon(value))).toBe(true);
    }
    for (const value of ['a1', '507f191e810c19729de860ea', '10', '-12'])
      expect(isBlocked(rules, anon(value))).toBe(false);
  });

  it('parses limits and refuses malformed ones', () => {
    const { limits, defaultLimit } = parseLimits('user_id:1,email:3,*:7');
    expect(limits.get('email')).toBe(3);
    expect(defaultLimit).toBe(7);
    expect(() => parseLimits('email:0')).toThrow(/Invalid identity limit/);
    expect(() => parseLimits('email')).toThrow(/Invalid identity limit/);
  });

  it('keeps user_id at one per profile whatever is configured', () => {
    expect(createIdentityRules({ limits: 'user_id:3' }).limits.get('user_id')).toBe(1);
  });
});

describe('applyChange', () => {
  it('links identifiers of one event into one profile', () => {
    const graph = run([change({ identifiers: [user('u1'), anon('a1')] })]);
    expect(graph.profiles.size).toBe(1);
    expect(ownerOf(graph, user('u1'))).toBe(ownerOf(graph, anon('a1')));
  });

  it('merges two profiles when an event carries identifiers of both', () => {
    const graph = run([
      change({ identifiers: [anon('a1')], traits: { plan: 'free' }, at: 1 }),
      change({ identifiers: [user('u1')], traits: { name: 'Jo' }, at: 2 }),
      change({ identifiers: [user('u1'), anon('a1')], at: 3 }),
    ]);
    expect(graph.profiles.size).toBe(1);
    const profile = [...graph.profiles.values()][0]!;
    expect(profileSnapshot(rules, profile, 1).traits).toEqual({ name: 'Jo', plan: 'free' });
    // The anonymous profile was seen first: the merged one keeps its experiment id.
    expect(profileSnapshot(rules, profile, 1).anchor).toEqual(anon('a1'));
    expect(profileSnapshot(rules, profile, 1).userId).toBe('u1');
  });

  it('does not merge two users through a shared device id', () => {
    const graph = run([
      change({ identifiers: [user('alice'), device('shared-ipad')], at: 1 }),
      change({ identifiers: [user('bob'), device('shared-ipad'), anon('bob-web')], at: 2 }),
    ]);
    expect(graph.profiles.size).toBe(2);
    expect(ownerOf(graph, device('shared-ipad'))).toBe(ownerOf(graph, user('alice')));
    expect(ownerOf(graph, user('bob'))).not.toBe(ownerOf(graph, user('alice')));
    // bob's own, unshared anonymous id is still linked to bob.
    expect(ownerOf(graph, anon('bob-web'))).toBe(ownerOf(graph, user('bob')));
  });

  it('starts a new profile for a second user_id instead of adding it', () => {
    const graph = run([
      change({ identifiers: [user('u1'), anon('a1')], at: 1 }),
      change({ identifiers: [user('u2'), anon('a1')], at: 2 }),
    ]);
    for (const profile of graph.profiles.values()) {
      expect(profile.identifiers.filter((i) => i.type === 'user_id')).toHaveLength(1);
    }
    expect(ownerOf(graph, user('u2'))).not.toBe(ownerOf(graph, user('u1')));
  });

  it('does not merge through a blocked value', () => {
    const graph = run([
      change({ identifiers: [user('u1'), anon('00000000-0000-0000-0000-000000000000')], at: 1 }),
      change({ identifiers: [user('u2'), anon('00000000-0000-0000-0000-000000000000')], at: 2 }),
      change({ identifiers: [user('u3'), { type: 'email', value: 'null' }], at: 3 }),
    ]);
    expect(graph.profiles.size).toBe(3);
    expect(ownerOf(graph, anon('00000000-0000-0000-0000-000000000000'))).toBeUndefined();
  });

  it('ignores an event whose identifiers are all blocked', () => {
    const graph = emptyGraph();
    const outcome = applyChange(
      rules,
      graph,
      emptyEffects(),
      change({ identifiers: [anon('anonymous')] }),
      () => 'p',
    );
    expect(outcome.status).toBe('ignored');
    expect(graph.profiles.size).toBe(0);
  });

  it('drops a sixth anonymous id instead of breaking the limit', () => {
    const changes = [1, 2, 3, 4, 5, 6].map((n) =>
      change({ identifiers: [user('u1'), anon(`a${n}`)], at: n }),
    );
    const graph = run(changes);
    expect(graph.profiles.size).toBe(1);
    expect(
      [...graph.profiles.values()][0]!.identifiers.filter((i) => i.type === 'anonymous_id'),
    ).toHaveLength(5);
  });

  it('never lets an old event overwrite a newer trait', () => {
    const graph = run([
      change({ identifiers: [user('u1')], traits: { plan: 'pro' }, at: 2000 }),
      change({ identifiers: [user('u1')], traits: { plan: 'free', seats: 3 }, at: 1000 }),
    ]);
    expect(profileSnapshot(rules, [...graph.profiles.values()][0]!, 1).traits).toEqual({
      plan: 'pro',
      seats: 3,
    });
  });

  it('keeps audience membership last-writer-wins, so a late entry cannot undo a newer exit', () => {
    const graph = run([
      change({ identifiers: [user('u1')], audiences: { vip: false }, at: 2000 }),
      change({ identifiers: [user('u1')], audiences: { vip: true }, at: 1000 }),
    ]);
    expect(profileSnapshot(rules, [...graph.profiles.values()][0]!, 1).audiences).toEqual([]);
  });

  it('picks the most recently joined account as primary, and keeps every account', () => {
    const graph = run([
      change({ identifiers: [user('u1')], account: { id: 'acme', traits: {} }, at: 1000 }),
      change({ identifiers: [user('u1')], account: { id: 'globex', traits: {} }, at: 3000 }),
      // A re-sent group call for acme does not make it primary again: membership dates from the first.
      change({ identifiers: [user('u1')], account: { id: 'acme', traits: { plan: 'x' } }, at: 5000 }),
    ]);
    const profile = [...graph.profiles.values()][0]!;
    expect(Object.keys(profile.accounts).sort()).toEqual(['acme', 'globex']);
    expect(primaryAccountId(profile)).toBe('globex');
    expect(graph.accounts.get('acme')?.traits.plan?.value).toBe('x');
  });

  it('anchors the experiment id on the earliest-seen identifier, whatever the arrival order', () => {
    const graph = run([
      change({ identifiers: [anon('late'), user('u')], at: 5000 }),
      // Delivered later, timestamped earlier: the device (and the user id) were seen first.
      change({ identifiers: [user('u'), device('early-device')], at: 1000 }),
    ]);
    expect(anchorOf(rules, [...graph.profiles.values()][0]!)?.anchor.value).toBe('early-device');
  });

  it('keeps the experiment id when a user id joins at login, and at signup prefers the anonymous id', () => {
    const login = run([
      change({ identifiers: [anon('a1')], at: 1 }),
      change({ identifiers: [user('u1'), anon('a1'), email('jo@x.io')], at: 2 }),
    ]);
    expect(anchorOf(rules, [...login.profiles.values()][0]!)?.anchor).toMatchObject(anon('a1'));
    const signup = run([change({ identifiers: [email('jo@x.io'), user('u1'), anon('a1')], at: 1 })]);
    expect(anchorOf(rules, [...signup.profiles.values()][0]!)?.anchor).toMatchObject(anon('a1'));
  });

  it('keeps the older profile’s id on a merge, its legacy pin included', () => {
    const graph = run([
      change({ identifiers: [user('u1'), anon('web')], at: 1 }),
      change({ identifiers: [anon('app')], at: 5 }),
    ]);
    const [web, app] = [...graph.profiles.values()];
    web!.pinnedAnchor = user('u1');
    app!.pinnedAnchor = anon('app');
    applyChange(
      rules,
      graph,
      emptyEffects(),
      change({ identifiers: [anon('app'), user('u1')], at: 9 }),
      () => 'x',
    );
    expect(graph.profiles.size).toBe(1);
    const merged = [...graph.profiles.values()][0]!;
    expect(anchorOf(rules, merged)).toMatchObject({ anchor: user('u1'), rule: 'legacy' });
  });

  it('removes the profile and every identifier on delete', () => {
    const graph = run([
      change({ identifiers: [user('u1'), anon('a1')], at: 1 }),
      change({ kind: 'delete', identifiers: [user('u1')], at: 2 }),
    ]);
    expect(graph.profiles.size).toBe(0);
    expect(graph.index.size).toBe(0);
  });
});

describe('identity graph properties', () => {
  it('gives the same graph for any permutation of the same events', () => {
    fc.assert(
      fc.property(
        fc
          .array(streamEventArb, { minLength: 1, maxLength: 25 })
          .chain((events) =>
            fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length })),
          ),
        ([events, shuffled]) => {
          const reference = graphProfiles(rules, applyInMemory(rules, streamToSegment(events)));
          const segment = streamToSegment(events);
          const order = shuffled.map((e) => events.indexOf(e));
          const permuted = order.map((i) => segment[i]!);
          expect(graphProfiles(rules, applyInMemory(rules, permuted))).toEqual(reference);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives the same graph when every event is applied twice', () => {
    fc.assert(
      fc.property(fc.array(streamEventArb, { minLength: 1, maxLength: 25 }), (events) => {
        const segment = streamToSegment(events);
        const reference = graphProfiles(rules, applyInMemory(rules, segment));
        expect(graphProfiles(rules, applyInMemory(rules, [...segment, ...segment]))).toEqual(reference);
      }),
      { numRuns: 200 },
    );
  });

  it('never maps an identifier to two profiles, even when limits bind', () => {
    const shared = fc.record({
      user: fc.option(fc.constantFrom('u1', 'u2', 'u3'), { nil: undefined }),
      anon: fc.constantFrom('a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'),
      device: fc.option(fc.constantFrom('d1', 'd2'), { nil: undefined }),
      at: fc.integer({ min: 0, max: 100 }),
    });
    fc.assert(
      fc.property(fc.array(shared, { minLength: 1, maxLength: 40 }), (events) => {
        const graph = run(
          events.map((e) =>
            change({
              at: e.at,
              identifiers: [
                ...(e.user ? [user(e.user)] : []),
                anon(e.anon),
                ...(e.device ? [device(e.device)] : []),
              ],
            }),
          ),
        );
        const seen = new Map<string, string>();
        for (const profile of graph.profiles.values()) {
          expect(profile.identifiers.filter((i) => i.type === 'user_id').length).toBeLessThanOrEqual(1);
          expect(profile.identifiers.filter((i) => i.type === 'anonymous_id').length).toBeLessThanOrEqual(5);
          for (const identifier of profile.identifiers) {
            const key = identifierKey(identifier);
            expect(seen.has(key)).toBe(false);
            seen.set(key, profile.id);
            expect(graph.index.get(key)).toBe(profile.id);
          }
        }
        expect(graph.index.size).toBe(seen.size);
      }),
      { numRuns: 200 },
    );
  });
});
