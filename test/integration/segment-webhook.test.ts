import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { apiGatewayEvent } from '../../scripts/local/api-gateway-event';
import { lambdaContext } from '../../scripts/local/lambda-context';
import { hmacSha1Hex } from '../../src/platform/http/webhook-auth';
import { buildHandlers, type Handlers, testConfig } from '../support/app';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { CALL_TYPES, fixture } from '../support/segment';

const SECRET = 'segment-shared-secret';
const TOKEN = 'crosswalk-webhook-token';
const API_KEY = 'test-api-key';
let table: TestTable | undefined;
let handlers: Handlers;

/** Builds the handlers from the base settings plus `vars`, as a new container would. */
function configure(vars: Record<string, string | undefined> = {}): void {
  handlers = buildHandlers(
    testConfig({ TABLE_NAME: table?.tableName, API_KEYS: API_KEY, ADMIN_API_KEYS: API_KEY, ...vars }),
  );
}

async function post(body: string, headers: Record<string, string> = {}, query = '') {
  const event = apiGatewayEvent(
    {
      method: 'POST',
      url: `/webhooks/segment${query}`,
      headers: { 'content-type': 'application/json', ...headers },
      body,
    },
    'POST /webhooks/segment',
  );
  const result = await handlers['segment-webhook'](event, lambdaContext('segment-webhook'));
  return { status: result.statusCode, body: JSON.parse(result.body as string) as Record<string, unknown> };
}

async function lookup(
  type: string,
  value: string,
  headers: Record<string, string> = { 'x-api-key': API_KEY },
) {
  const event = apiGatewayEvent(
    { method: 'GET', url: `/v1/identities/${type}/${encodeURIComponent(value)}`, headers },
    'GET /v1/identities/{type}/{value}',
    { type, value },
  );
  const result = await handlers['identity-lookup'](event, lambdaContext('identity-lookup'));
  return { status: result.statusCode, body: JSON.parse(result.body as string) as Record<string, unknown> };
}

/** The Spec example of a call type, re-keyed so each test case has its own person and messageIds. */
function personal(type: string, p: string): Record<string, unknown> {
  const event = fixture(type);
  for (const field of ['messageId', 'userId', 'anonymousId', 'previousId', 'groupId'] as const) {
    if (typeof event[field] === 'string') event[field] = `${p}${event[field]}`;
  }
  const traits = event.traits as Record<string, unknown> | undefined;
  if (type === 'identify' && traits) traits.email = `${p}${traits.email}`;
  const device = (event.context as { device?: Record<string, unknown> } | undefined)?.device;
  if (device?.id) device.id = `${p}${device.id}`;
  if (device?.advertisingId) device.advertisingId = `${p}${device.advertisingId}`;
  return event;
}

function sign(payload: string): Record<string, string> {
  return { 'x-signature': hmacSha1Hex(SECRET, payload) };
}

beforeAll(async () => {
  table = await createTestTable('webhook');
  configure();
});

afterEach(() => configure());

afterAll(async () => {
  await table?.drop();
});

async function expectFullProfile(p: string) {
  const response = await lookup('user_id', `${p}97980cfea0067`);
  expect(response.status).toBe(200);
  const seen = (type: string, value: string) => ({ type, value, firstSeen: expect.any(String) });
  expect(response.body).toEqual({
    // The identify brought the user id, the email and this anonymous id at 09:00: the anonymous id
    // anchors the stable experiment id (the id the visitor had before logging in).
    canonicalId: `${p}507f191e810c19729de860ea`,
    canonicalIdFrom: { type: 'anonymous_id', digested: false, rule: 'earliest-identifier' },
    userId: `${p}97980cfea0067`,
    identifiers: expect.arrayContaining([
      seen('user_id', `${p}97980cfea0067`),
      seen('email', `${p}peter.gibbons@example.com`),
      seen('anonymous_id', `${p}507f191e810c19729de860ea`),
      seen('anonymous_id', `${p}23adfd82-aa0f-45a7-a756-24f2a7a4c895`),
      seen('anonymous_id', `${p}3a12eab0-bca7-11e4-8dfc-aa07a5b093db`),
      seen('anonymous_id', `${p}39239-239239-239239-23923`),
      seen('ios.id', `${p}B5372DB0-C21E-11E4-8DFC-AA07A5B093DB`),
      seen('ios.idfa', `${p}7A3CBEA0-BDF5-11E4-8DFC-AA07A5B093DB`),
      seen('android.id', `${p}a0b1c2d3e4f5a6b7`),
    ]),
    // identify set plan=premium at 09:00, the track's context.traits plan=enterprise at 09:01 wins.
    // Traits keep the email as sent; the email identifier is lower-cased.
    traits: { email: `${p}Peter.Gibbons@Example.com`, logins: 5, name: 'Peter Gibbons', plan: 'enterprise' },
    audiences: [],
    accounts: [
      {
        id: `${p}0e8c78ea9d97a7b8185e8632`,
        traits: {
          employees: 329,
          industry: 'Technology',
          name: 'Initech',
          plan: 'enterprise',
          'total billed': 830,
        },
      },
    ],
    primaryAccountId: `${p}0e8c78ea9d97a7b8185e8632`,
  });
  expect((response.body.identifiers as unknown[]).length).toBe(9);
  // The same person is found by any identifier, emails case-insensitively.
  const byEmail = await lookup('email', `${p}Peter.Gibbons@Example.COM`);
  expect(byEmail.body).toEqual(response.body);
}

describe('POST /webhooks/segment', () => {
  describe.each([
    ['unsigned', false],
    ['signed', true],
  ])('%s', (_label, signed) => {
    it('accepts every call type sent one by one', async () => {
      if (signed) configure({ SEGMENT_SHARED_SECRET: SECRET });
      const p = `one-${signed}-${randomUUID().slice(0, 6)}-`;
      for (const type of CALL_TYPES) {
        const body = JSON.stringify(personal(type, p));
        const response = await post(body, signed ? sign(body) : {});
        expect(response).toEqual({ status: 200, body: { accepted: 1, duplicates: 0, rejected: [] } });
      }
      await expectFullProfile(p);
    });

    it('accepts every call type in one batch', async () => {
      // A signed batch also needs the webhook token: Segment signs only its first event.
      if (signed) configure({ SEGMENT_SHARED_SECRET: SECRET, SEGMENT_WEBHOOK_TOKEN: TOKEN });
      const p = `batch-${signed}-${randomUUID().slice(0, 6)}-`;
      const batch = CALL_TYPES.map((type) => personal(type, p));
      const headers = signed ? { ...sign(JSON.stringify(batch[0])), 'x-crosswalk-token': TOKEN } : {};
      const response = await post(JSON.stringify(batch), headers);
      expect(response).toEqual({ status: 200, body: { accepted: 6, duplicates: 0, rejected: [] } });
      await expectFullProfile(p);
    });
  });

  it('answers 401 and writes nothing when the signature is missing or wrong', async () => {
    configure({ SEGMENT_SHARED_SECRET: SECRET });
    const p = `badsig-${randomUUID().slice(0, 6)}-`;
    const body = JSON.stringify(personal('identify', p));
    expect((await post(body)).status).toBe(401);
    expect((await post(body, { 'x-signature': hmacSha1Hex('wrong', body) })).status).toBe(401);
    const batch = [personal('identify', p), personal('group', p)];
    expect((await post(JSON.stringify(batch), sign(JSON.stringify(batch[1])))).status).toBe(401);
    expect((await post('{not json', { 'x-signature': 'abc' })).status).toBe(401);
    expect((await lookup('user_id', `${p}97980cfea0067`)).status).toBe(404);
    // The same body, correctly signed, is accepted: the 401s were about the signature only.
    expect((await post(body, sign(body))).status).toBe(200);
    expect((await lookup('user_id', `${p}97980cfea0067`)).status).toBe(200);
  });

  it('requires the webhook token when one is configured, in a header or the query string', async () => {
    configure({ SEGMENT_WEBHOOK_TOKEN: TOKEN });
    const p = `token-${randomUUID().slice(0, 6)}-`;
    const body = JSON.stringify([personal('identify', p)]);
    expect((await post(body)).status).toBe(401);
    expect((await post(body, { 'x-crosswalk-token': 'nope' })).status).toBe(401);
    expect((await lookup('user_id', `${p}97980cfea0067`)).status).toBe(404);
    expect((await post(body, { 'x-crosswalk-token': TOKEN })).status).toBe(200);
    expect((await post(JSON.stringify([personal('page', p)]), {}, `?token=${TOKEN}`)).status).toBe(200);
  });

  it('refuses every request when deployed (REQUIRE_AUTH) without a secret', async () => {
    configure({ REQUIRE_AUTH: 'true' });
    expect((await post(JSON.stringify(fixture('page')))).status).toBe(401);
  });

  it.each([
    ['malformed JSON', '{"type": "identify",', /not valid JSON/],
    ['an empty body', '', /empty/],
    ['a JSON string', '"identify"', /not a Segment event/],
    ['an empty batch', '[]', /empty/],
  ])('answers 400 naming the problem for %s', async (_label, body, message) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(message);
  });

  it('answers 400 for a batch over MAX_WEBHOOK_BATCH and writes nothing', async () => {
    configure({ MAX_WEBHOOK_BATCH: '2' });
    const p = `big-${randomUUID().slice(0, 6)}-`;
    const response = await post(JSON.stringify(['identify', 'page', 'group'].map((t) => personal(t, p))));
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/at most 2/);
    expect((await lookup('user_id', `${p}97980cfea0067`)).status).toBe(404);
  });

  it('reports invalid events of a batch by index and applies the others', async () => {
    const p = `mixed-${randomUUID().slice(0, 6)}-`;
    const noId = { ...personal('track', p), userId: undefined, anonymousId: undefined };
    const blocked = { ...personal('page', `${p}x`), userId: undefined, anonymousId: 'undefined' };
    const response = await post(
      JSON.stringify([personal('identify', p), { type: 'track', messageId: `${p}bad` }, noId, 42, blocked]),
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      accepted: 1,
      duplicates: 0,
      rejected: [
        { index: 1, messageId: `${p}bad`, reason: expect.stringMatching(/timestamp/) },
        { index: 2, messageId: `${p}fx-track-1`, reason: expect.stringMatching(/userId or anonymousId/) },
        { index: 3, reason: expect.stringMatching(/JSON object/) },
        { index: 4, messageId: `${p}xfx-page-1`, reason: expect.stringMatching(/no usable identifier/) },
      ],
    });
    const profile = await lookup('user_id', `${p}97980cfea0067`);
    expect(profile.body.identifiers).toHaveLength(3);
  });

  it('is idempotent on messageId', async () => {
    const p = `dup-${randomUUID().slice(0, 6)}-`;
    const body = JSON.stringify([personal('identify', p), personal('group', p)]);
    expect((await post(body)).body).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    const before = await lookup('user_id', `${p}97980cfea0067`);
    expect((await post(body)).body).toEqual({ accepted: 0, duplicates: 2, rejected: [] });
    expect(await lookup('user_id', `${p}97980cfea0067`)).toEqual(before);
  });

  it('applies Engage audiences and computed traits', async () => {
    const user = `engage-${randomUUID().slice(0, 6)}`;
    const engage = [
      'engage-audience-identify',
      'engage-audience-entered',
      'engage-audience-exited',
      'engage-trait-computed',
    ].map((name) => ({ ...fixture(name), userId: user, messageId: `${user}-${name}` }));
    expect((await post(JSON.stringify(engage))).body).toMatchObject({ accepted: 4 });
    const profile = await lookup('user_id', user);
    expect(profile.body).toMatchObject({
      // churn_risk was entered at 11:00 and exited at 12:00.
      audiences: ['high_value_users'],
      traits: { email: 'peter.gibbons@example.com', orders_last_30_days: 7 },
    });
  });

  it('deletes a user on Segment’s delete notice', async () => {
    const p = `del-${randomUUID().slice(0, 6)}-`;
    await post(JSON.stringify([personal('identify', p)]));
    // The classic notice carries no messageId.
    const notice: Record<string, unknown> = { ...fixture('delete'), userId: `${p}97980cfea0067` };
    delete notice.messageId;
    expect((await post(JSON.stringify(notice))).body).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    expect((await lookup('user_id', `${p}97980cfea0067`)).status).toBe(404);
    expect((await lookup('email', `${p}peter.gibbons@example.com`)).status).toBe(404);
  });
});

describe('GET /v1/identities/{type}/{value}', () => {
  it('needs an API key and answers 404 for an unknown identifier', async () => {
    expect((await lookup('user_id', 'nobody', {})).status).toBe(401);
    expect((await lookup('user_id', 'nobody')).status).toBe(404);
  });
});
