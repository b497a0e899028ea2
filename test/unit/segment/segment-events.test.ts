import { describe, expect, it } from '@jest/globals';
import { webhookEvents } from '../../../functions/segment-webhook/schema';
import {
  hmacSha1Hex as segmentSignature,
  verifySegmentSignature,
} from '../../../src/platform/http/webhook-auth';
import { extractIdentifiers, toIdentityChange } from '../../../src/segment/identity-change';
import { parseSegmentEvent, type SegmentEvent } from '../../../src/segment/spec';
import { CALL_TYPES, fixture } from '../../support/segment';

function parsed(input: unknown): SegmentEvent {
  const result = parseSegmentEvent(input);
  if (!result.ok) throw new Error(result.reason);
  return result.event;
}

describe('Segment Spec events', () => {
  it.each([...CALL_TYPES, 'delete'])('accepts the Spec example of %s', (type) => {
    expect(parseSegmentEvent(fixture(type))).toMatchObject({ ok: true, event: { type } });
  });

  it.each([
    [{ type: 'identify', timestamp: '2026-11-24T09:00:00Z', userId: 'u' }, /messageId/],
    [
      { type: 'identify', messageId: 'x'.repeat(101), timestamp: '2026-11-24T09:00:00Z', userId: 'u' },
      /100 characters/,
    ],
    [{ type: 'identify', messageId: 'm', timestamp: 'yesterday', userId: 'u' }, /timestamp/],
    [{ type: 'identify', messageId: 'm', timestamp: '2026-11-24T09:00:00Z' }, /userId or anonymousId/],
    [{ type: 'track', messageId: 'm', timestamp: '2026-11-24T09:00:00Z', userId: 'u' }, /event/],
    [{ type: 'group', messageId: 'm', timestamp: '2026-11-24T09:00:00Z', userId: 'u' }, /groupId/],
    [{ type: 'alias', messageId: 'm', timestamp: '2026-11-24T09:00:00Z', userId: 'u' }, /previousId/],
    [{ type: 'delete', timestamp: '2026-11-24T09:00:00Z' }, /userId/],
    [{ type: 'launch', messageId: 'm' }, /unsupported type/],
    ['identify', /expected a JSON object/],
  ])('rejects %j naming the problem', (input, reason) => {
    const result = parseSegmentEvent(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('extracts Segment default identifiers, lower-casing emails', () => {
    expect(extractIdentifiers(parsed(fixture('identify')))).toEqual([
      { type: 'user_id', value: '97980cfea0067' },
      { type: 'anonymous_id', value: '507f191e810c19729de860ea' },
      { type: 'email', value: 'peter.gibbons@example.com' },
    ]);
  });

  it('extracts device and advertising ids by device type, the latter only with tracking enabled', () => {
    expect(extractIdentifiers(parsed(fixture('track')))).toEqual([
      { type: 'user_id', value: '97980cfea0067' },
      { type: 'anonymous_id', value: '23adfd82-aa0f-45a7-a756-24f2a7a4c895' },
      { type: 'ios.id', value: 'B5372DB0-C21E-11E4-8DFC-AA07A5B093DB' },
      { type: 'ios.idfa', value: '7A3CBEA0-BDF5-11E4-8DFC-AA07A5B093DB' },
    ]);
    const optedOut = fixture('track');
    (optedOut.context as { device: { adTrackingEnabled: boolean } }).device.adTrackingEnabled = false;
    expect(extractIdentifiers(parsed(optedOut)).map((i) => i.type)).not.toContain('ios.idfa');
    expect(extractIdentifiers(parsed(fixture('screen')))).toContainEqual({
      type: 'android.id',
      value: 'a0b1c2d3e4f5a6b7',
    });
  });

  it('extracts custom identifiers of the users collection from context.externalIds', () => {
    const event = {
      ...fixture('page'),
      context: {
        externalIds: [
          { id: 'CRM-42', type: 'CRM_ID', collection: 'users', encoding: 'none' },
          { id: 'acct-1', type: 'group_id', collection: 'accounts', encoding: 'none' },
        ],
      },
    };
    expect(extractIdentifiers(parsed(event))).toContainEqual({ type: 'crm_id', value: 'CRM-42' });
    expect(extractIdentifiers(parsed(event)).map((i) => i.value)).not.toContain('acct-1');
  });

  it('links an alias previousId as an anonymous id of the user', () => {
    expect(extractIdentifiers(parsed(fixture('alias')))).toEqual([
      { type: 'user_id', value: '97980cfea0067' },
      { type: 'anonymous_id', value: '39239-239239-239239-23923' },
    ]);
  });

  it('keeps scalar identify traits and context.traits of other calls, skipping nested objects', () => {
    const identify = toIdentityChange(parsed(fixture('identify')));
    expect(identify.traits).toEqual({
      name: 'Peter Gibbons',
      email: 'Peter.Gibbons@Example.com',
      plan: 'premium',
      logins: 5,
    });
    expect(identify.at).toBe(Date.parse('2026-11-24T09:00:00.000Z'));
    expect(toIdentityChange(parsed(fixture('track'))).traits).toEqual({ plan: 'enterprise' });
  });

  it('turns group calls into a membership with account traits', () => {
    const change = toIdentityChange(parsed(fixture('group')));
    expect(change.account).toEqual({
      id: '0e8c78ea9d97a7b8185e8632',
      traits: {
        name: 'Initech',
        industry: 'Technology',
        employees: 329,
        plan: 'enterprise',
        'total billed': 830,
      },
    });
    expect(change.traits).toEqual({});
  });

  it('reads Engage audiences from identify traits and Audience Entered/Exited', () => {
    const identify = toIdentityChange(parsed(fixture('engage-audience-identify')));
    expect(identify.audiences).toEqual({ high_value_users: true });
    expect(identify.traits).toEqual({ email: 'peter.gibbons@example.com' });
    expect(toIdentityChange(parsed(fixture('engage-audience-entered'))).audiences).toEqual({
      churn_risk: true,
    });
    expect(toIdentityChange(parsed(fixture('engage-audience-exited'))).audiences).toEqual({
      churn_risk: false,
    });
  });

  it('reads Engage computed traits from Trait Computed and identify', () => {
    expect(toIdentityChange(parsed(fixture('engage-trait-computed'))).traits).toEqual({
      orders_last_30_days: 7,
    });
    expect(toIdentityChange(parsed(fixture('engage-computed-trait-identify'))).traits).toEqual({
      favourite_category: 'mats',
    });
  });

  it('keys the classic delete notice without a messageId by user and time', () => {
    const { messageId: _omit, ...classic } = fixture('delete');
    const change = toIdentityChange(parsed(classic));
    expect(change.kind).toBe('delete');
    expect(change.messageId).toBe('delete:97980cfea0067:2026-11-24T10:00:00.000Z');
  });
});

describe('Segment signature', () => {
  const secret = 'shh';
  it('verifies a single event over the raw body', () => {
    const raw = JSON.stringify(fixture('identify'));
    expect(verifySegmentSignature(secret, segmentSignature(secret, raw), raw, JSON.parse(raw))).toBe(true);
    expect(verifySegmentSignature(secret, segmentSignature('other', raw), raw, JSON.parse(raw))).toBe(false);
    expect(verifySegmentSignature(secret, undefined, raw, JSON.parse(raw))).toBe(false);
  });

  it('verifies a batch over JSON.stringify(body[0]) only', () => {
    const batch = [fixture('identify'), fixture('track')];
    const raw = JSON.stringify(batch);
    const signature = segmentSignature(secret, JSON.stringify(batch[0]));
    expect(verifySegmentSignature(secret, signature, raw, batch)).toBe(true);
    expect(verifySegmentSignature(secret, signature.toUpperCase(), raw, batch)).toBe(true);
    expect(
      verifySegmentSignature(secret, segmentSignature(secret, JSON.stringify(batch[1])), raw, batch),
    ).toBe(false);
  });
});

describe('webhook body', () => {
  it('accepts one event or an array, and names what is wrong otherwise', () => {
    expect(webhookEvents(fixture('page'), 10)).toMatchObject([{ type: 'page' }]);
    expect(webhookEvents([fixture('page'), 3], 10)).toMatchObject([{ type: 'page' }, 3]);
    expect(() => webhookEvents([], 10)).toThrow(/empty/);
    expect(() => webhookEvents([1, 2, 3], 2)).toThrow(/at most 2 are accepted \(MAX_WEBHOOK_BATCH\)/);
    expect(() => webhookEvents('hello', 2)).toThrow(/not a Segment event/);
    expect(() => webhookEvents(null, 2)).toThrow(/not a Segment event/);
  });
});
