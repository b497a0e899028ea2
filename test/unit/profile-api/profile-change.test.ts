/**
 * Profile API answers → identity changes (src/profile-api/profile-change.ts), and the rules
 * they go through (graph.ts): the first sightings Segment gives make the anchor, and with it the
 * experiment id, the one the webhook would have chosen from the same history.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { applyChange, emptyEffects, emptyGraph, type IdentityChange } from '../../../src/identity/graph';
import { identifierKey, SEGMENT_ID_TYPE } from '../../../src/identity/identifiers';
import { anchorOf, type ProfileState } from '../../../src/identity/profile';
import { createIdentityRules } from '../../../src/identity/rules';
import {
  learnedAccounts,
  learnedIdentifiers,
  learnedTraits,
  MAX_EXTERNAL_IDS,
  primaryAccount,
  profileApiChanges,
} from '../../../src/profile-api/profile-change';
import { askableIdentifier } from '../../../src/profile-api/read-through';

const rules = createIdentityRules();
const limits = { maxIdentifierBytes: 1024, maxTraits: 200, maxTraitKeyBytes: 256, maxTraitValueBytes: 8192 };
const NOW = Date.UTC(2026, 11, 1);
const at = (minutes: number) => new Date(Date.UTC(2026, 10, 1) + minutes * 60_000).toISOString();
const id = (type: string, value: string, minutes: number, extra: Record<string, unknown> = {}) => ({
  id: value,
  type,
  collection: 'users',
  created_at: at(minutes),
  encoding: 'none',
  source_id: 's',
  ...extra,
});

function profilesOf(changes: IdentityChange[]): ProfileState[] {
  const graph = emptyGraph();
  const effects = emptyEffects();
  let n = 0;
  const ordered = [...changes].sort((a, b) => a.at - b.at);
  for (const change of ordered) applyChange(rules, graph, effects, change, () => `p${n++}`);
  return [...graph.profiles.values()];
}

describe('learnedIdentifiers', () => {
  it('keeps usable users identifiers with their created_at, normalised, and leaves the rest out', () => {
    const learned = learnedIdentifiers(
      {
        data: [
          id('anonymous_id', 'a1', 0),
          id('email', 'Jane@Example.com', 5),
          id('user_id', 'u1', 5),
          id('group_id', 'acme', 6),
          id('cross_domain_id', 'x1', 7, { collection: 'accounts' }),
          id('custom', 'b64', 7, { encoding: 'base64' }),
          id('anonymous_id', 'null', 8),
          { id: 'no-date', type: 'anonymous_id', collection: 'users' },
          'not an object',
          id(SEGMENT_ID_TYPE, 'use_1', 1),
          id('ios.id', 'future', 60 * 24 * 365),
        ],
      },
      { asked: { type: 'anonymous_id', value: 'a1' }, rules, limits, now: NOW },
    );
    expect(learned).toEqual({
      ok: true,
      value: expect.arrayContaining([
        { type: 'anonymous_id', value: 'a1', firstSeen: Date.parse(at(0)) },
        { type: 'email', value: 'jane@example.com', firstSeen: Date.parse(at(5)) },
        { type: 'user_id', value: 'u1', firstSeen: Date.parse(at(5)) },
        { type: 'ios.id', value: 'future', firstSeen: NOW },
      ]),
    });
    expect(learned.ok && learned.value).toHaveLength(4);
  });

  it('keeps per type the earliest within the limits, and always the identifier asked for', () => {
    const many = Array.from({ length: 9 }, (_, i) => id('anonymous_id', `a${i}`, i));
    const learned = learnedIdentifiers(
      { data: many },
      { asked: { type: 'anonymous_id', value: 'a8' }, rules, limits, now: NOW },
    );
    expect(learned.ok && learned.value.map((i) => i.value).sort()).toEqual(['a0', 'a1', 'a2', 'a3', 'a8']);
  });

  it('refuses what is not an answer, or more identifiers than Segment holds for a profile', () => {
    const options = { asked: { type: 'user_id', value: 'u' }, rules, limits, now: NOW };
    expect(learnedIdentifiers({}, options)).toEqual({ ok: false });
    expect(learnedIdentifiers({ data: 'x' }, options)).toEqual({ ok: false });
    const tooMany = Array.from({ length: MAX_EXTERNAL_IDS + 1 }, (_, i) => id('anonymous_id', `m${i}`, i));
    expect(learnedIdentifiers({ data: tooMany }, options)).toEqual({ ok: false });
  });
});

describe('learnedTraits and learnedAccounts', () => {
  it('unwraps verbose traits with their update times, and keeps scalars only', () => {
    const learned = learnedTraits(
      {
        traits: {
          plan: { value: 'pro', source_id: 's', updated_at: at(3) },
          seats: 12,
          address: { street: 'x' },
          tags: ['a'],
          later: { value: true, updated_at: '2999-01-01T00:00:00Z' },
          constructor: 'x',
        },
      },
      { limits, fetchedAt: NOW },
    );
    expect(learned).toEqual({
      ok: true,
      value: {
        values: { plan: 'pro', seats: 12, later: true },
        times: { plan: Date.parse(at(3)), seats: NOW, later: NOW },
      },
    });
    expect(learnedTraits({ traits: 'x' }, { limits, fetchedAt: NOW })).toEqual({ ok: false });
  });

  it('reads accounts from links, each joined at its created_at; the latest is primary', () => {
    const learned = learnedAccounts(
      {
        data: [
          { to_collection: 'accounts', external_ids: [{ id: 'old', type: 'group_id', created_at: at(1) }] },
          { to_collection: 'accounts', external_ids: [{ id: 'new', type: 'group_id', created_at: at(9) }] },
          { to_collection: 'users', external_ids: [{ id: 'u', type: 'user_id', created_at: at(9) }] },
        ],
      },
      { limits, now: NOW },
    );
    expect(learned).toEqual({
      ok: true,
      value: [
        { id: 'old', joinedAt: Date.parse(at(1)) },
        { id: 'new', joinedAt: Date.parse(at(9)) },
      ],
    });
    expect(learned.ok && primaryAccount(learned.value)).toEqual({ id: 'new', joinedAt: Date.parse(at(9)) });
  });
});

describe('profileApiChanges', () => {
  it('links everything at one time, carries traits and the primary account, one change per other account', () => {
    const person = {
      identifiers: [
        { type: 'anonymous_id', value: 'a', firstSeen: 1_000 },
        { type: 'user_id', value: 'u', firstSeen: 5_000 },
      ],
      traits: { values: { plan: 'pro' }, times: { plan: 7_000 } },
      accounts: [
        { id: 'one', joinedAt: 2_000 },
        { id: 'two', joinedAt: 6_000 },
      ],
      accountTraits: { values: { seats: 3 }, times: { seats: 7_000 } },
    };
    const changes = profileApiChanges(person);
    expect(changes.map((c) => c.at)).toEqual([6_000, 6_000]);
    expect(changes[0]).toMatchObject({ kind: 'link', traits: { plan: 'pro' }, traitTimes: { plan: 7_000 } });
    expect(changes[0]!.account).toEqual({ id: 'two', traits: { seats: 3 }, joinedAt: 6_000 });
    expect(changes[1]!.account).toEqual({ id: 'one', traits: {}, joinedAt: 2_000 });
    // Deterministic: two containers learning the same person write the same changes.
    expect(profileApiChanges(person).map((c) => c.messageId)).toEqual(changes.map((c) => c.messageId));
    expect(new Set(changes.map((c) => c.messageId)).size).toBe(2);
    const [profile] = profilesOf(changes);
    expect(profile!.identifiers.map((i) => [i.value, i.firstSeen]).sort()).toEqual([
      ['a', 1_000],
      ['u', 5_000],
    ]);
    expect(profile!.accounts).toEqual({ one: { joinedAt: 2_000 }, two: { joinedAt: 6_000 } });
    expect(profile!.traits.plan).toEqual({ value: 'pro', at: 7_000 });
  });

  it('anchors the profile where the webhook would have, for any history (property)', () => {
    const identifierArb = fc.record({
      type: fc.constantFrom('anonymous_id', 'ios.id', 'email', 'cross_domain_id'),
      value: fc.stringMatching(/^[a-z]{1,4}$/),
      t: fc.integer({ min: 0, max: 50 }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(identifierArb, {
          minLength: 1,
          maxLength: 8,
          selector: (i) => `${i.type}:${i.value}`,
        }),
        fc.option(fc.integer({ min: 0, max: 50 })),
        (ids, userAt) => {
          const history = [...ids, ...(userAt === null ? [] : [{ type: 'user_id', value: 'u', t: userAt }])];
          // Within the limits, so neither side drops anything.
          const perType = new Map<string, number>();
          for (const i of history) perType.set(i.type, (perType.get(i.type) ?? 0) + 1);
          fc.pre([...perType.values()].every((n) => n <= 5));
          const ms = (t: number) => Date.UTC(2026, 0, 1) + t * 60_000;
          // The webhook: each identifier first carried by its own event, chained to the one before.
          const sorted = [...history].sort((a, b) => a.t - b.t);
          const events: IdentityChange[] = sorted.map((i, k) => ({
            messageId: `e${k}`,
            kind: 'link',
            at: ms(i.t),
            identifiers: [
              { type: i.type, value: i.value },
              ...(k > 0 ? [{ type: sorted[k - 1]!.type, value: sorted[k - 1]!.value }] : []),
            ],
            traits: {},
            audiences: {},
          }));
          const viaWebhook = profilesOf(events);
          const viaApi = profilesOf(
            profileApiChanges({
              identifiers: history.map((i) => ({ type: i.type, value: i.value, firstSeen: ms(i.t) })),
            }),
          );
          expect(viaWebhook).toHaveLength(1);
          expect(viaApi).toHaveLength(1);
          const anchor = (p: ProfileState) => identifierKey(anchorOf(rules, p)!.anchor);
          expect(anchor(viaApi[0]!)).toBe(anchor(viaWebhook[0]!));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('askableIdentifier', () => {
  it('asks for the first identifier that is neither personal, blocked nor Segment’s own id', () => {
    expect(
      askableIdentifier(rules, [
        { type: 'user_id', value: 'jane@example.com' },
        { type: 'email', value: 'jane@example.com' },
        { type: 'anonymous_id', value: 'null' },
        { type: SEGMENT_ID_TYPE, value: 'use_1' },
        { type: 'anonymous_id', value: ' a1 ' },
      ]),
    ).toEqual({ type: 'anonymous_id', value: 'a1' });
    expect(askableIdentifier(rules, [{ type: 'phone', value: '+49 170 1234567' }])).toBeUndefined();
  });
});
