import { describe, expect, it } from '@jest/globals';
import { buildAttributes, profileAttributes, reservedKeys } from '../../../src/agent/attributes';
import { accountBucketingId, isAccountBucketed } from '../../../src/agent/bucketing';
import { requestIdentifiers } from '../../../src/agent/request-identifiers';
import { createIdentityRules } from '../../../src/identity/rules';
import { IdentifierConflictError } from '../../../src/platform/core/errors';
import { profile } from '../../support/agent';

const declared = new Set(['plan', 'country', 'high_value_customers', 'account_plan', 'account_seats']);
const albert = profile('albert-123', {
  traits: { plan: 'pro', email: 'albert@example.com', name: 'Albert', country: 'DE' },
  audiences: ['high_value_customers'],
  account: { id: 'acme', traits: { plan: 'enterprise', seats: 120, name: 'Acme Inc' } },
});

describe('attributes', () => {
  it('merges traits, audiences as booleans and prefixed account traits', () => {
    expect(profileAttributes(albert, 'account_')).toEqual({
      plan: 'pro',
      email: 'albert@example.com',
      name: 'Albert',
      country: 'DE',
      high_value_customers: true,
      account_plan: 'enterprise',
      account_seats: 120,
      account_name: 'Acme Inc',
    });
  });

  it('keeps only declared attributes, so email and names never reach Optimizely', () => {
    const attributes = buildAttributes({
      profile: albert,
      requestAttributes: {},
      declared,
      accountPrefix: 'account_',
      allowReserved: false,
    });
    expect(attributes).toEqual({
      plan: 'pro',
      country: 'DE',
      high_value_customers: true,
      account_plan: 'enterprise',
      account_seats: 120,
    });
  });

  it('lets request attributes win on conflicts', () => {
    const attributes = buildAttributes({
      profile: albert,
      requestAttributes: { plan: 'free', country: 'FR', undeclared: 'x' },
      declared,
      accountPrefix: 'account_',
      allowReserved: false,
    });
    expect(attributes.plan).toBe('free');
    expect(attributes.country).toBe('FR');
    expect(attributes).not.toHaveProperty('undeclared');
  });

  it('drops reserved keys from callers unless allowed, and names them', () => {
    const request = { $opt_bucketing_id: 'other', plan: 'pro' };
    expect(reservedKeys(request)).toEqual(['$opt_bucketing_id']);
    const base = { profile: null, requestAttributes: request, declared, accountPrefix: 'account_' };
    expect(buildAttributes({ ...base, allowReserved: false })).toEqual({ plan: 'pro' });
    expect(buildAttributes({ ...base, allowReserved: true })).toEqual({
      plan: 'pro',
      $opt_bucketing_id: 'other',
    });
  });

  it('uses a configurable account prefix', () => {
    expect(profileAttributes(albert, 'company.')).toHaveProperty(['company.plan'], 'enterprise');
  });
});

describe('bucketing choice', () => {
  it('buckets listed flags on the account and others on the user', () => {
    expect(accountBucketingId('team_dashboard', ['team_dashboard'], 'acme')).toBe('acme');
    expect(accountBucketingId('search_ranking', ['team_dashboard'], 'acme')).toBeNull();
  });

  it('buckets every flag on the account with *', () => {
    expect(isAccountBucketed('anything', ['*'])).toBe(true);
  });

  it('buckets on the user when there is no primary account', () => {
    expect(accountBucketingId('team_dashboard', ['*'], null)).toBeNull();
  });
});

describe('identifier selection', () => {
  const rules = createIdentityRules();

  it('orders identifiers by priority, userId counting as user_id', () => {
    const ordered = requestIdentifiers(
      'albert-123',
      { anonymous_id: 'albert-xyz', email: 'a@example.com' },
      rules,
    );
    expect(ordered.map((i) => i.type)).toEqual(['user_id', 'email', 'anonymous_id']);
  });

  it('refuses a userId that contradicts identifiers.user_id', () => {
    expect(() => requestIdentifiers('a', { user_id: 'b' }, rules)).toThrow(IdentifierConflictError);
  });

  it('normalises like Segment ingest: types and emails case-insensitive, phones to digits', () => {
    expect(
      requestIdentifiers(undefined, { ' EMAIL ': ' Jo@Example.COM ', phone: '+49 (170) 123-45' }, rules),
    ).toEqual([
      { type: 'email', value: 'jo@example.com' },
      { type: 'phone', value: '+4917012345' },
    ]);
  });
});
