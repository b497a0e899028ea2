/**
 * The webhook against hostile and careless input, through the local server: each bad event alone
 * (a 4xx naming the rule) and inside a batch of valid events (a `rejected` entry naming the rule,
 * the valid events applied), never a 5xx, nothing half-written. Plus forged batches, timestamps a
 * bad clock could abuse, final deletes, single decoding of lookups, and transient DynamoDB faults
 * that a retrying sender rides out with every event applied exactly once.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SAMPLE_DATAFILE } from '../../scripts/local/local-stack';
import { hmacSha1Hex } from '../../src/platform/http/webhook-auth';
import { startTestApp, type TestApp } from '../support/app';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { faultyDynamoDbClient } from '../support/faults';

const SECRET = 'hostile-shared-secret';
const TOKEN = 'hostile-webhook-token';
const KEY = 'hostile-api-key';
const run = randomUUID().slice(0, 6);
let table: TestTable | undefined;
let app: TestApp | undefined;

beforeAll(async () => {
  table = await createTestTable('hostile');
  app = await startTestApp({
    TABLE_NAME: table.tableName,
    API_KEYS: KEY,
    ADMIN_API_KEYS: KEY,
    SEGMENT_SHARED_SECRET: SECRET,
    SEGMENT_WEBHOOK_TOKEN: TOKEN,
    IDENTITY_CACHE_TTL_MS: '0',
    IDENTITY_NEGATIVE_CACHE_TTL_MS: '0',
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE,
  });
});

afterAll(async () => {
  await app?.close();
  await table?.drop();
});

type Json = Record<string, unknown>;
let n = 0;
const recent = (minutesAgo = 60) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
const identify = (userId: string, fields: Json = {}): Json => ({
  type: 'identify',
  messageId: `${run}-m${n++}`,
  timestamp: recent(),
  userId,
  traits: { plan: 'pro' },
  ...fields,
});

/** POSTs to the webhook, signed and with the token, as Segment's Actions destination would. */
async function post(body: string, options: { token?: boolean; sign?: string | false } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token !== false) headers['x-crosswalk-token'] = TOKEN;
  if (options.sign !== false) headers['x-signature'] = hmacSha1Hex(SECRET, options.sign ?? body);
  const response = await fetch(`${app!.url}/webhooks/segment`, { method: 'POST', headers, body });
  const text = await response.text();
  let parsed: Json = {};
  try {
    parsed = JSON.parse(text) as Json;
  } catch {
    parsed = { text };
  }
  return { status: response.status, body: parsed };
}

async function lookup(type: string, value: string) {
  const response = await fetch(
    `${app!.url}/v1/identities/${encodeURIComponent(type)}/${encodeURIComponent(value)}`,
    {
      headers: { 'x-api-key': KEY },
    },
  );
  return { status: response.status, body: (await response.json()) as Json };
}

/** JSON text nested `levels` deep (too deep for JSON.stringify, so built as text). */
const deepJson = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
/** An event given as raw JSON text, for bodies JSON.stringify cannot produce. */
interface Raw {
  raw: string;
}
const text = (event: unknown) =>
  typeof event === 'object' && event !== null && 'raw' in event ? (event as Raw).raw : JSON.stringify(event);
const euro = '€';

/** [name, a bad event (given a fresh user id), the reason's pattern] */
const badEvents: [string, (user: string) => unknown, RegExp][] = [
  [
    'a user id over 1 KB',
    () => identify('u'.repeat(2100)),
    /user_id: 2100 bytes; at most 1024 \(MAX_IDENTIFIER_BYTES\)/,
  ],
  [
    'an anonymous id of 1,024 euro signs (3 KB)',
    (u) => ({ ...identify(u), userId: undefined, anonymousId: euro.repeat(1024) }),
    /anonymous_id: 3072 bytes/,
  ],
  [
    'an email over 1 KB',
    (u) => identify(u, { traits: { email: `${'e'.repeat(1100)}@example.com` } }),
    /email: \d+ bytes; at most 1024/,
  ],
  [
    'a group id over 1 KB',
    (u) => ({ ...identify(u), type: 'group', groupId: 'g'.repeat(1500) }),
    /groupId: 1500 bytes/,
  ],
  [
    'a 450 KB trait',
    (u) => identify(u, { traits: { essay: 'x'.repeat(450 * 1024) } }),
    /event is \d+ bytes; at most 32768 are accepted \(MAX_EVENT_BYTES\)/,
  ],
  [
    'a trait over MAX_TRAIT_VALUE_BYTES',
    (u) => identify(u, { traits: { bio: 'b'.repeat(9000) } }),
    /traits\.bio: 9002 bytes; at most 8192 \(MAX_TRAIT_VALUE_BYTES\)/,
  ],
  [
    'too many traits',
    (u) => identify(u, { traits: Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`t${i}`, i])) }),
    /201 traits; at most 200 per event/,
  ],
  [
    'a 20,000-deep type',
    (u) => ({ raw: JSON.stringify(identify(u)).replace('"identify"', deepJson(20_000)) }),
    /nests deeper than 32 levels/,
  ],
  ['a lone surrogate in a user id', () => identify(`sur\ud800${run}`), /user_id: not well-formed Unicode/],
  [
    'a lone surrogate in a messageId',
    (u) => identify(u, { messageId: `m\udc00${run}` }),
    /messageId: not well-formed Unicode/,
  ],
  [
    'a __proto__ trait',
    (u) =>
      JSON.parse(
        `{"type":"identify","messageId":"${run}-proto-${n++}","timestamp":"${recent()}","userId":"${u}","traits":{"__proto__":{"plan":"hacked"}}}`,
      ),
    /traits: the key "__proto__" is not allowed/,
  ],
  [
    'a constructor trait',
    (u) => identify(u, { traits: { constructor: 'x' } }),
    /traits: the key "constructor" is not allowed/,
  ],
  [
    'a prototype trait in context.traits',
    (u) => ({ ...identify(u), type: 'track', event: 'Viewed', context: { traits: { prototype: 1 } } }),
    /context\.traits: the key "prototype" is not allowed/,
  ],
  [
    'an externalIds type __proto__',
    (u) =>
      identify(u, {
        context: { externalIds: [{ id: 'x', type: '__proto__', collection: 'users', encoding: 'none' }] },
      }),
    /identifier type "__proto__" is not allowed/,
  ],
  ['a timestamp of "1"', (u) => identify(u, { timestamp: '1' }), /timestamp: must be an ISO-8601 date-time/],
  [
    'a timestamp of +275760-09-13',
    (u) => identify(u, { timestamp: '+275760-09-13' }),
    /timestamp: must be an ISO-8601 date-time/,
  ],
  [
    'a timestamp in 9999',
    (u) => identify(u, { timestamp: '9999-12-31T00:00:00Z' }),
    /more than 5 minutes after the event was received/,
  ],
  [
    'a timestamp older than MAX_EVENT_AGE_DAYS',
    (u) => identify(u, { timestamp: '2019-01-01T00:00:00Z' }),
    /older than 395 days \(MAX_EVENT_AGE_DAYS\)/,
  ],
];

describe('each bad event', () => {
  it.each(badEvents)('%s: alone, a 400 naming the rule, and nothing written', async (_name, make, reason) => {
    const user = `alone-${run}-${n++}`;
    const event = make(user);
    const response = await post(text(event));
    expect(response.status).toBe(400);
    expect(String(response.body.error)).toMatch(reason);
    expect((await lookup('user_id', user)).status).toBe(404);
  });

  it.each(badEvents)(
    '%s: in a batch, a rejected entry naming the rule, the others applied',
    async (_name, make, reason) => {
      const good = [`before-${run}-${n++}`, `after-${run}-${n++}`];
      const bad = make(`inside-${run}-${n++}`);
      const batch = [identify(good[0]!), bad, identify(good[1]!)];
      const response = await post(`[${batch.map(text).join(',')}]`, { sign: JSON.stringify(batch[0]) });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        accepted: 2,
        rejected: [{ index: 1, reason: expect.stringMatching(reason) }],
      });
      for (const user of good) expect((await lookup('user_id', user)).status).toBe(200);
    },
  );
});

describe('keys that JavaScript treats specially', () => {
  it('stores and shows toString, hasOwnProperty and valueOf like any trait and identifier type', async () => {
    const user = `ordinary-${run}`;
    const event = identify(user, {
      traits: { toString: 'a', hasOwnProperty: 'b', valueOf: 3 },
      context: {
        externalIds: [{ id: `ts-${run}`, type: 'toString', collection: 'users', encoding: 'none' }],
      },
    });
    expect((await post(JSON.stringify(event))).status).toBe(200);
    const profile = await lookup('toString', `ts-${run}`);
    expect(profile.status).toBe(200);
    expect(profile.body.traits).toEqual({ toString: 'a', hasOwnProperty: 'b', valueOf: 3 });
    // …and the identifier type is usable on decide like any other.
    const decided = await fetch(`${app!.url}/v1/decide?keys=search_ranking`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ identifiers: { toString: `ts-${run}` } }),
    });
    expect(decided.status).toBe(200);
    expect(((await decided.json()) as { identity: Json }).identity).toMatchObject({
      source: 'cache',
      userId: user,
    });
  });

  it.each(['userAttributes', 'identifiers', 'eventTags'])(
    'answers decide/track 400 for a __proto__ key in %s',
    async (field) => {
      const path = field === 'eventTags' ? '/v1/track?eventKey=purchase' : '/v1/decide';
      const response = await fetch(`${app!.url}${path}`, {
        method: 'POST',
        headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
        body: `{"userId":"u-${run}","${field}":{"__proto__":{"x":"y"}}}`,
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as Json).error).toBe(
        `error parsing request body: ${field}: the key "__proto__" is not allowed`,
      );
    },
  );
});

describe('authentication of batches', () => {
  it('refuses a forged tail behind a captured signed event without the token, and accepts the token’s batch', async () => {
    const victim = `victim-${run}`;
    await post(JSON.stringify(identify(victim, { traits: { email: `${victim}@example.com` } })));
    const captured = identify(`attacker-${run}`);
    const forged = [
      captured,
      identify(victim, { traits: { email: `evil-${run}@example.com` } }),
      { type: 'delete', userId: victim, messageId: `${run}-forged-delete` },
    ];
    // A deployment with the shared secret alone: a batch signed like Segment's (over body[0]) is
    // refused, naming the fix, because nothing covers the events after the first.
    const secretOnly = await startTestApp({ TABLE_NAME: table!.tableName, SEGMENT_SHARED_SECRET: SECRET });
    try {
      const refused = await fetch(`${secretOnly.url}/webhooks/segment`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-signature': hmacSha1Hex(SECRET, JSON.stringify(captured)),
        },
        body: JSON.stringify(forged),
      });
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as Json).error).toMatch(/Batches need SEGMENT_WEBHOOK_TOKEN/);
    } finally {
      await secretOnly.close();
    }
    // Where the token is configured, the same forged batch without it is refused too.
    expect(
      (await post(JSON.stringify(forged), { token: false, sign: JSON.stringify(captured) })).status,
    ).toBe(401);
    const profile = await lookup('user_id', victim);
    expect(profile.body.traits).toMatchObject({ email: `${victim}@example.com` });
    // A deep first element cannot be signed: refused as unauthenticated, not a 500.
    expect(
      (await post(`[{"type":"identify","nested":${deepJson(20_000)}}]`, { sign: 'whatever' })).status,
    ).toBe(401);
    // With the token, a batch is accepted.
    const batch = [identify(`tok-a-${run}`), identify(`tok-b-${run}`)];
    expect((await post(JSON.stringify(batch), { sign: JSON.stringify(batch[0]) })).body).toMatchObject({
      accepted: 2,
    });
  });

  it('answers 401 for a deeply nested single body with a bad signature, before parsing it further', async () => {
    const body = `{"type":"identify","x":${deepJson(20_000)}}`;
    expect((await post(body, { sign: 'not this body' })).status).toBe(401);
  });
});

describe('deletes are final', () => {
  it('refuses late and replayed events from before the delete, and starts afresh after it', async () => {
    const user = `deleted-${run}`;
    const history = [
      {
        ...identify(user, { traits: { email: `${user}@example.com`, name: 'Del Eted' } }),
        anonymousId: `anon-${user}`,
        timestamp: recent(120),
      },
      {
        type: 'track',
        event: 'Viewed',
        messageId: `${run}-hist-2`,
        timestamp: recent(90),
        anonymousId: `anon-${user}`,
      },
    ];
    expect((await post(JSON.stringify(history), { sign: JSON.stringify(history[0]) })).body).toMatchObject({
      accepted: 2,
    });
    const del = { type: 'delete', userId: user, messageId: `${run}-delete`, timestamp: recent(1) };
    expect((await post(JSON.stringify(del))).body).toMatchObject({ accepted: 1 });
    expect((await lookup('user_id', user)).status).toBe(404);
    expect((await lookup('anonymous_id', `anon-${user}`)).status).toBe(404);

    // A late event, timestamped before the delete, for an identifier of the deleted person.
    const late = { ...identify(`other-${run}`), anonymousId: `anon-${user}`, timestamp: recent(30) };
    const lateAnswer = await post(JSON.stringify(late));
    expect(lateAnswer.status).toBe(400);
    expect(String(lateAnswer.body.error)).toMatch(
      /anonymous_id was deleted \(delete received .*\): earlier events are refused/,
    );
    // A replay of the whole history (new message ids, as Segment's replay sends): nothing comes back.
    const replay = history.map((e) => ({ ...e, messageId: `${e.messageId}-replay` }));
    const replayed = await post(JSON.stringify(replay), { sign: JSON.stringify(replay[0]) });
    expect(replayed.body).toMatchObject({ accepted: 0, rejected: [{ index: 0 }, { index: 1 }] });
    expect((await lookup('user_id', user)).status).toBe(404);
    expect((await lookup('email', `${user}@example.com`)).status).toBe(404);

    // After the delete: a new profile, without the old traits.
    const after = identify(user, {
      timestamp: new Date(Date.now() + 1000).toISOString(),
      traits: { plan: 'new' },
    });
    expect((await post(JSON.stringify(after))).body).toMatchObject({ accepted: 1 });
    const fresh = await lookup('user_id', user);
    expect(fresh.status).toBe(200);
    expect(fresh.body.traits).toEqual({ plan: 'new' });
  });
});

describe('GET /v1/identities', () => {
  it('decodes the path once: %2541 is looked up as "%41", not as "A"', async () => {
    await post(JSON.stringify(identify(`A`, { userId: 'A', messageId: `${run}-A` })));
    const once = await fetch(`${app!.url}/v1/identities/user_id/%2541`, { headers: { 'x-api-key': KEY } });
    expect(once.status).toBe(404);
    const a = await fetch(`${app!.url}/v1/identities/user_id/A`, { headers: { 'x-api-key': KEY } });
    expect(a.status).toBe(200);
  });

  it('caps values in bytes: 1,024 euro signs are a 400 naming the limit, not a 500', async () => {
    const response = await lookup('anonymous_id', euro.repeat(1024));
    expect(response.status).toBe(400);
    expect(String(response.body.error)).toMatch(/longer than 1024 bytes \(MAX_IDENTIFIER_BYTES\)/);
  });
});

describe('transient DynamoDB faults', () => {
  it('lets a retrying sender apply every event exactly once, with 30 % of DynamoDB calls failing', async () => {
    const people = Array.from({ length: 40 }, (_, i) => `faulty-${run}-${i}`);
    const events = people.flatMap((user, i) => [
      identify(user, { anonymousId: `fa-${user}`, traits: { plan: i % 2 ? 'pro' : 'free', logins: i } }),
      {
        type: 'group',
        messageId: `${run}-fg-${i}`,
        timestamp: recent(59),
        userId: user,
        groupId: `fault-acct-${run}-${i % 5}`,
        traits: { seats: i },
      },
      {
        type: 'track',
        event: 'Viewed',
        messageId: `${run}-ft-${i}`,
        timestamp: recent(58),
        anonymousId: `fa-${user}`,
        context: { traits: { logins: i + 1 } },
      },
    ]);
    const faulty = faultyDynamoDbClient(0.3);
    const flaky = await startTestApp(
      { TABLE_NAME: table!.tableName, SEGMENT_WEBHOOK_TOKEN: TOKEN, IDENTITY_CACHE_TTL_MS: '0' },
      { dynamoDb: faulty.client },
    );
    try {
      const batches = [events.slice(0, 40), events.slice(40, 80), events.slice(80)];
      let fiveHundreds = 0;
      for (const batch of batches) {
        // Segment's behaviour: retry the whole batch on 5xx until it is accepted.
        for (let attempt = 0; ; attempt++) {
          const response = await fetch(`${flaky.url}/webhooks/segment`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-crosswalk-token': TOKEN },
            body: JSON.stringify(batch),
          });
          if (response.status < 500) {
            expect(response.status).toBe(200);
            expect(((await response.json()) as Json).rejected).toEqual([]);
            break;
          }
          fiveHundreds++;
          expect(response.status).toBe(503);
          expect(attempt).toBeLessThan(50);
        }
      }
      expect(faulty.failures).toBeGreaterThan(0);
      expect(fiveHundreds).toBeGreaterThan(0);
    } finally {
      await flaky.close();
    }
    // The same events into a fault-free table give the same profiles.
    const reference = await createTestTable('hostile-ref');
    const clean = await startTestApp({
      TABLE_NAME: reference.tableName,
      SEGMENT_WEBHOOK_TOKEN: TOKEN,
      ADMIN_API_KEYS: KEY,
    });
    try {
      // Retried on a 503 as Segment does: DynamoDB Local can pass its request timeout on a large
      // transaction while the rest of the suite loads the machine.
      let response: Response;
      for (let attempt = 0; ; attempt++) {
        response = await fetch(`${clean.url}/webhooks/segment`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-crosswalk-token': TOKEN },
          body: JSON.stringify(events),
        });
        if (response.status !== 503 || attempt >= 10) break;
      }
      expect(response.status).toBe(200);
      for (const user of people) {
        const get = (url: string) =>
          fetch(`${url}/v1/identities/user_id/${user}`, { headers: { 'x-api-key': KEY } }).then((r) =>
            r.json(),
          );
        expect(await get(app!.url)).toEqual(await get(clean.url));
      }
    } finally {
      await clean.close();
      await reference.drop();
    }
  }, 120_000);
});
