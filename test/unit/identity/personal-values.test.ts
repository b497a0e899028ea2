/**
 * The one rule for personal identifier values (src/identity/personal-values.ts): what is taken for an
 * email address or a phone number whatever its type, so it is digested before it can become an
 * experiment id; and what is not, so the stable ids of everyone else do not move.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createExperimentIds } from '../../../src/identity/experiment-id';
import { identifierKey, identifierListKey } from '../../../src/identity/identifiers';
import { isPersonalIdentifier, looksPersonal } from '../../../src/identity/personal-values';
import { createIdentityRules } from '../../../src/identity/rules';

const rules = createIdentityRules();

describe('values that look personal', () => {
  it.each([
    'Eve.Person@Example.com',
    ' jo+tag@mail.example.co.uk ',
    '+491701234567',
    '+1 (555) 123-4567',
    '(555) 123-4567',
    '555-123-4567',
    '0170 1234567',
    '030/1234567',
    '+44 20 7946 0958',
  ])('takes %s for personal data', (value) => {
    expect(looksPersonal(value)).toBe(true);
    expect(isPersonalIdentifier(rules, { type: 'user_id', value })).toBe(true);
  });

  it.each([
    'albert-123',
    'web-7f3a9c',
    '5a3c1c3e-9d3f-4c43-9a7b-2f2b9f0d6a11',
    '1234567890',
    '000123',
    'user@localhost',
    '@handle',
    'v1.2.3',
    '12-34',
    '+123',
  ])('does not take %s for personal data', (value) => {
    expect(looksPersonal(value)).toBe(false);
    expect(isPersonalIdentifier(rules, { type: 'anonymous_id', value })).toBe(false);
  });

  it('treats every value of a personal type as personal, whatever it looks like', () => {
    expect(isPersonalIdentifier(rules, { type: 'email', value: 'not-an-email' })).toBe(true);
  });
});

describe('experiment ids', () => {
  const ids = createExperimentIds({
    rules,
    bucketOnUserId: false,
    secret: async () => 'a-test-secret-of-32-characters!!',
  });

  it('digests an email- or phone-shaped value of any type, as the email type is digested', async () => {
    for (const identifier of [
      { type: 'user_id', value: 'Eve.Person@Example.com' },
      { type: 'anonymous_id', value: '+49 170 1234567' },
      { type: 'crm_id', value: 'jo@example.com' },
    ]) {
      const choice = await ids.ofRequest([identifier]);
      expect(choice).toMatchObject({ digested: true, id: expect.stringMatching(/^cw1_/) });
      expect(choice!.id).not.toContain(identifier.value);
    }
  });

  it('keeps the id of every value that does not look personal (stable ids do not move)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/).filter((v) => !looksPersonal(v)),
        fc.constantFrom('user_id', 'anonymous_id', 'ios.id', 'crm_id'),
        async (value, type) => {
          expect(await ids.ofRequest([{ type, value }])).toMatchObject({ id: value, digested: false });
        },
      ),
    );
  });

  it('ranks a personal-shaped user id with the personal types: an anonymous id anchors first', async () => {
    const choice = await ids.ofRequest([
      { type: 'user_id', value: 'eve@example.com' },
      { type: 'anonymous_id', value: 'anon-9' },
    ]);
    expect(choice).toMatchObject({ id: 'anon-9', digested: false });
  });

  it('names every id a deleted person may have been decided on, the raw pre-digest ones included', async () => {
    const every = await ids.everyIdOf([
      { type: 'anonymous_id', value: 'anon-9' },
      { type: 'user_id', value: 'eve@example.com' },
      { type: 'email', value: 'eve@example.com' },
    ]);
    expect(every).toContain('anon-9');
    expect(every).toContain('eve@example.com');
    expect(every.filter((id) => id.startsWith('cw1_'))).toHaveLength(2);
  });
});

describe('in-memory identifier keys', () => {
  it('cannot be forged by values holding the old separators', () => {
    const crafted = [{ type: 'user_id', value: 'a\u0001email\u0000b' }];
    const pair = [
      { type: 'user_id', value: 'a' },
      { type: 'email', value: 'b' },
    ];
    expect(identifierListKey(crafted)).not.toBe(identifierListKey(pair));
    expect(identifierKey({ type: 'a\u0000b', value: 'c' })).not.toBe(
      identifierKey({ type: 'a', value: 'b\u0000c' }),
    );
  });

  it('is injective over any identifier lists', () => {
    const list = fc.array(fc.record({ type: fc.string(), value: fc.string() }), { maxLength: 3 });
    fc.assert(
      fc.property(list, list, (a, b) => {
        if (JSON.stringify(a) !== JSON.stringify(b))
          expect(identifierListKey(a)).not.toBe(identifierListKey(b));
      }),
    );
  });
});
