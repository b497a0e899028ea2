import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  createExperimentIds,
  identifierDigest,
  MissingDigestSecretError,
  profileAnchor,
  requestAnchor,
} from '../../../src/identity/experiment-id';
import { normalizeIdentifier } from '../../../src/identity/identifiers';
import { createIdentityRules } from '../../../src/identity/rules';

const rules = createIdentityRules();
const SECRET = 'a-test-secret-of-32-characters!!';
const ids = (bucketOnUserId = false, secret: string | null = SECRET) =>
  createExperimentIds({ rules, bucketOnUserId, secret: async () => secret ?? undefined });

const anon = { type: 'anonymous_id', value: 'anon-1' };
const device = { type: 'ios.id', value: 'iphone-1' };
const user = { type: 'user_id', value: 'user-1' };
const email = { type: 'email', value: 'jo@example.com' };

describe('the anchor rule', () => {
  it('breaks ties as a caller who knew nothing would: anonymous, device, user id, personal last', () => {
    expect(requestAnchor(rules, [email, user, device, anon])).toEqual(anon);
    expect(requestAnchor(rules, [email, user, device])).toEqual(device);
    expect(requestAnchor(rules, [email, user])).toEqual(user);
    expect(requestAnchor(rules, [email])).toEqual(email);
    expect(requestAnchor(rules, [])).toBeUndefined();
  });

  it('anchors a profile on its earliest sighting, whatever joined later', () => {
    const sighted = [
      { ...user, firstSeen: 20 },
      { ...anon, firstSeen: 10 },
      { ...email, firstSeen: 5 },
    ];
    // The email was seen first, but ties aside the earliest sighting wins, even a personal one
    // (which becomes a digest, never the email itself).
    expect(profileAnchor(rules, sighted)).toEqual(sighted[2]);
    expect(profileAnchor(rules, sighted.slice(0, 2))).toEqual(sighted[1]);
  });

  it('depends only on the identifiers and their first sightings, not on their order', () => {
    const sighting = fc.record({
      type: fc.constantFrom('anonymous_id', 'user_id', 'email', 'ios.id', 'crm_id'),
      value: fc.constantFrom('a', 'b', 'c'),
      firstSeen: fc.integer({ min: 0, max: 3 }),
    });
    fc.assert(
      fc.property(fc.array(sighting, { minLength: 1, maxLength: 8 }), fc.nat(), (list, seed) => {
        const shuffled = [...list].sort(
          (a, b) => ((a.value + a.type + seed).length % 3) - ((b.value + b.type).length % 3),
        );
        expect(profileAnchor(rules, shuffled)).toEqual(profileAnchor(rules, list));
      }),
    );
  });
});

describe('experiment ids', () => {
  it('are the anchor’s value for non-personal identifiers', async () => {
    expect(await ids().ofRequest([user, anon])).toEqual({
      id: 'anon-1',
      fromType: 'anonymous_id',
      digested: false,
      rule: 'earliest-identifier',
    });
  });

  it('are a keyed digest, never the value, for personal identifiers, the same for every spelling', async () => {
    const choice = await ids().ofRequest([normalizeIdentifier({ type: 'email', value: ' Jo@Example.COM ' })]);
    expect(choice).toMatchObject({ fromType: 'email', digested: true });
    expect(choice?.id).toMatch(/^cw1_[A-Za-z0-9_-]{27}$/);
    expect(choice?.id).not.toContain('example');
    expect(choice?.id).toBe(identifierDigest(SECRET, email));
    expect(identifierDigest('another-secret-of-32-characters!', email)).not.toBe(choice?.id);
  });

  it('refuses to digest without a secret, naming the setting', async () => {
    await expect(ids(false, null).ofRequest([email])).rejects.toThrow(MissingDigestSecretError);
    await expect(ids(false, null).ofRequest([email])).rejects.toThrow(/EXPERIMENT_ID_SECRET/);
  });

  it('bucket on the user id whenever there is one under the BUCKET_ON_USER_ID opt-out', async () => {
    expect((await ids(true).ofRequest([anon, user]))?.id).toBe('user-1');
    const known = { anchor: anon, anchorRule: 'earliest-identifier' as const, userId: 'user-1' };
    expect(await ids(true).ofProfile(known)).toMatchObject({ id: 'user-1', rule: 'user-id' });
    expect(await ids(false).ofProfile(known)).toMatchObject({ id: 'anon-1', rule: 'earliest-identifier' });
  });
});
