/** Segment's read shapes from a profile (src/profile-api/compatible.ts): parameters, paging, refusals. */
import { describe, expect, it } from '@jest/globals';
import type { ProfileState } from '../../../src/identity/profile';
import { dict } from '../../../src/platform/core/dict';
import {
  accountLinks,
  externalIds,
  metadata,
  ProfileApiError,
  userLinks,
  userTraits,
} from '../../../src/profile-api/compatible';

const profile: ProfileState = {
  id: 'p1',
  identifiers: [
    { type: 'user_id', value: 'u1', firstSeen: 3_000 },
    { type: 'anonymous_id', value: 'a1', firstSeen: 1_000 },
    { type: 'segment_id', value: 'use_1', firstSeen: 9_000 },
    { type: 'email', value: 'u1@example.com', firstSeen: 3_000 },
  ],
  traits: dict(
    Object.entries({
      plan: { value: 'pro', at: 4_000 },
      seats: { value: 3, at: 5_000 },
      vip: { value: false, at: 1 },
    }),
  ),
  audiences: dict(Object.entries({ vip: { value: true, at: 6_000 }, churned: { value: false, at: 7_000 } })),
  accounts: dict(Object.entries({ old: { joinedAt: 2_000 }, new: { joinedAt: 8_000 } })),
};
const q = (query: string) => new URLSearchParams(query);
const URL_ = '/v1/spaces/s/collections/users/profiles/user_id:u1/traits';

describe('users /traits', () => {
  it('answers traits and audiences by name, ten at a time, with Segment’s cursor', () => {
    expect(userTraits(profile, q(''), URL_)).toEqual({
      traits: { churned: false, plan: 'pro', seats: 3, vip: true },
      cursor: { url: URL_, has_more: false, next: '' },
    });
  });

  it('filters with include and class, pages with limit and next, and is verbose when asked', () => {
    expect(userTraits(profile, q('include=plan,nope'), URL_).traits).toEqual({ plan: 'pro' });
    expect(userTraits(profile, q('class=audience'), URL_).traits).toEqual({ churned: false, vip: true });
    expect(userTraits(profile, q('class=computed_trait'), URL_).traits).toEqual({});
    const page = userTraits(profile, q('limit=2'), URL_);
    expect(page).toEqual({
      traits: { churned: false, plan: 'pro' },
      cursor: { url: URL_, has_more: true, next: 'seats' },
    });
    expect(Object.keys(userTraits(profile, q('limit=2&next=seats'), URL_).traits)).toEqual(['seats', 'vip']);
    expect(userTraits(profile, q('include=seats&verbose=true'), URL_).traits).toEqual({
      seats: { value: 3, source_id: null, updated_at: new Date(5_000).toISOString() },
    });
  });

  it.each(['limit=0', 'limit=201', 'limit=x', 'class=trait', 'verbose=yes'])(
    'refuses %s as a validation_error',
    (query) => {
      expect(() => userTraits(profile, q(query), URL_)).toThrow(ProfileApiError);
      try {
        userTraits(profile, q(query), URL_);
      } catch (error) {
        expect(error).toMatchObject({ status: 400, code: 'validation_error' });
      }
    },
  );
});

describe('users /external_ids, /links, /metadata; accounts /links', () => {
  it('lists external ids oldest first, without Segment’s own id, pages and filters', () => {
    const all = externalIds(profile, q(''), URL_);
    expect(all.data.map((d) => `${d.type}:${d.id}`)).toEqual([
      'anonymous_id:a1',
      'email:u1@example.com',
      'user_id:u1',
    ]);
    expect(all.data[0]).toEqual({
      source_id: null,
      collection: 'users',
      id: 'a1',
      type: 'anonymous_id',
      created_at: new Date(1_000).toISOString(),
      encoding: 'none',
      first_message_id: null,
    });
    const first = externalIds(profile, q('limit=2'), URL_);
    expect(first.cursor).toMatchObject({ has_more: true, next: '2' });
    expect(externalIds(profile, q('limit=2&next=2'), URL_).data.map((d) => d.id)).toEqual(['u1']);
    expect(externalIds(profile, q('include=user_id'), URL_).data.map((d) => d.id)).toEqual(['u1']);
    expect(() => externalIds(profile, q('next=-1'), URL_)).toThrow(ProfileApiError);
  });

  it('lists accounts most recently joined first, and an account’s members', () => {
    expect(userLinks(profile).data.map((d) => d.external_ids[0]!.id)).toEqual(['new', 'old']);
    const members = accountLinks([profile]);
    expect(members.data).toEqual([
      {
        to_collection: 'users',
        external_ids: expect.arrayContaining([
          expect.objectContaining({ id: 'u1', type: 'user_id', collection: 'users' }),
        ]),
      },
    ]);
  });

  it('answers metadata from the first and last sightings', () => {
    expect(metadata(profile).metadata).toEqual({
      created_at: new Date(1_000).toISOString(),
      updated_at: new Date(9_000).toISOString(),
      expires_at: null,
      first_message_id: null,
      first_source_id: null,
      last_message_id: null,
      last_source_id: null,
    });
  });
});
