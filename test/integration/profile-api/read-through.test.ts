/**
 * The Profile API read-through through the local server (docs/profile-api.md): a person known only to
 * Segment is resolved on the first decide with one set of Profile API calls, their stable experiment
 * id is the one the webhook would have chosen, and the second decide makes no call. Every way the
 * Profile API can fail leaves the answer as it was without it, and writes nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { sendSegment } from '../../../scripts/demo/client';
import {
  type LocalProfileApiServer,
  type StandInPerson,
  startLocalProfileApi,
} from '../../../scripts/local/local-profile-api';
import { SAMPLE_DATAFILE } from '../../../scripts/local/local-stack';
import { DynamoDbIdentityStore } from '../../../src/identity/dynamodb/identity-store';
import { startTestApp, type TestApp } from '../../support/app';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../../support/optimizely';

const run = randomUUID().slice(0, 6);
const TOKEN = 'profile-api-test-token';
const SPACE = 'spa_test';
const ADMIN = 'admin-key';
const CLIENT = 'client-key';
const T0 = Date.UTC(2026, 9, 1, 9, 0);
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

/** A person Segment knows and Crosswalk does not: anonymous first, then signed up, then joined an account. */
function person(
  name: string,
  extra: Partial<StandInPerson> = {},
): StandInPerson & { anon: string; user: string } {
  const anon = `${name}-web-${run}`;
  const user = `${name}-${run}`;
  return {
    anon,
    user,
    externalIds: [
      { type: 'anonymous_id', id: anon, createdAt: iso(0) },
      { type: 'user_id', id: user, createdAt: iso(5) },
      { type: 'email', id: `${name}-${run}@example.com`, createdAt: iso(5) },
    ],
    traits: { plan: 'pro', country: 'FR', email: `${name}-${run}@example.com`, name: `${name} Example` },
    traitsUpdatedAt: iso(6),
    accounts: [{ id: `globex-${run}`, createdAt: iso(10) }],
    ...extra,
  };
}

let table: TestTable | undefined;
let optimizely: TestOptimizely | undefined;
let segment: LocalProfileApiServer | undefined;
let app: TestApp | undefined;

const settings = (profileApiUrl: string, tableName: string) => ({
  TABLE_NAME: tableName,
  OPTIMIZELY_SDK_KEY: 'local-sample',
  OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE,
  OPTIMIZELY_EVENT_ENDPOINT: optimizely!.eventEndpoint,
  API_KEYS: CLIENT,
  ADMIN_API_KEYS: ADMIN,
  ACCOUNT_BUCKETED_FLAGS: 'team_dashboard',
  SEGMENT_PROFILE_API_URL: profileApiUrl,
  SEGMENT_SPACE_ID: SPACE,
  SEGMENT_PROFILE_API_TOKEN: TOKEN,
  // DynamoDB Local's first requests are slow on a shared machine; the slow case waits past it still.
  PROFILE_API_TIMEOUT_MS: '1500',
});

beforeAll(async () => {
  [table, optimizely] = await Promise.all([createTestTable('read-through'), startTestOptimizely()]);
  segment = await startLocalProfileApi({
    token: TOKEN,
    spaceId: SPACE,
    accounts: { [`globex-${run}`]: { plan: 'enterprise', industry: 'Retail', seats: 40, name: 'Globex' } },
  });
  app = await startTestApp(settings(segment.url, table.tableName));
});

afterAll(async () => {
  try {
    await app?.server.idle();
    optimizely?.assertNoPersonalData();
  } finally {
    await app?.close();
    await segment?.close();
    await optimizely?.close();
    await table?.drop();
  }
});

beforeEach(() => {
  segment!.api.fault = undefined;
  segment!.api.latencyMs = 0;
});

interface Decision {
  variationKey: string;
  flagKey: string;
  userContext: { userId: string; attributes: Record<string, unknown> };
  identity?: {
    canonicalId: string;
    userId: string | null;
    accountId: string | null;
    source: string;
    bucketingId: string;
  };
}

async function decide(
  body: Record<string, unknown>,
  { key = ADMIN, url = app!.url, flag = 'team_dashboard' } = {},
): Promise<Decision> {
  const response = await fetch(`${url}/v1/decide?keys=${flag}&includeIdentity=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({ decideOptions: ['DISABLE_DECISION_EVENT'], ...body }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Decision;
}

async function stored(tableName: string, type: string, value: string) {
  const store = new DynamoDbIdentityStore({ client: table!.client, tableName });
  return [...(await store.getIdentifiers([{ type, value }])).values()];
}

describe('a person known only to Segment', () => {
  const dana = person('dana');

  it('is resolved on the first decide with one set of calls: stable id, declared traits, account', async () => {
    segment!.api.add(dana);
    const before = segment!.api.calls.length;
    const first = await decide({ identifiers: { anonymous_id: dana.anon } });
    expect(first.identity).toMatchObject({
      source: 'profile-api',
      canonicalId: dana.anon,
      userId: dana.user,
      accountId: `globex-${run}`,
      bucketingId: `globex-${run}`,
    });
    expect(first.userContext.attributes).toEqual({
      $opt_bucketing_id: `globex-${run}`,
      plan: 'pro',
      country: 'FR',
      account_plan: 'enterprise',
      account_industry: 'Retail',
      account_seats: 40,
    });
    const calls = segment!.api.calls.slice(before);
    expect(calls.map((c) => `${c.collection}/${c.resource}`).sort()).toEqual([
      'accounts/traits',
      'users/external_ids',
      'users/links',
      'users/traits',
    ]);
    // Only what the datafile declares is asked for (never the email or the name).
    const traits = calls.find((c) => c.collection === 'users' && c.resource === 'traits')!;
    expect(new URLSearchParams(traits.query).get('include')!.split(',').sort()).toEqual([
      'country',
      'high_value_customers',
      'plan',
    ]);
  });

  it('makes no call on the second decide, nor for another of their identifiers, nor in a fresh container', async () => {
    const before = segment!.api.calls.length;
    const second = await decide({ identifiers: { anonymous_id: dana.anon } });
    expect(second.identity).toMatchObject({ source: 'cache', canonicalId: dana.anon });
    const byUser = await decide({ userId: dana.user });
    expect(byUser.identity).toMatchObject({ source: 'cache', canonicalId: dana.anon });
    const fresh = await startTestApp(settings(segment!.url, table!.tableName));
    try {
      const elsewhere = await decide({ identifiers: { anonymous_id: dana.anon } }, { url: fresh.url });
      expect(elsewhere.identity).toMatchObject({ source: 'cache', canonicalId: dana.anon });
    } finally {
      await fresh.close();
    }
    expect(segment!.api.calls.length - before).toBe(0);
  });
});

describe('the stable experiment id', () => {
  /**
   * The same history, once as the webhook sees it (events at the dates Segment first saw each
   * identifier) and once as the Profile API tells it: the same experiment id, digested alike when
   * the earliest identifier looks personal.
   */
  it.each([
    ['an anonymous id seen first', 'anon-first', false],
    ['a user id that is an email address, seen first', 'email-first', true],
  ])('is the one the webhook would have chosen, for %s', async (_name, label, emailFirst) => {
    const anon = `${label}-web-${run}`;
    const user = emailFirst ? `${label}-${run}@example.com` : `${label}-${run}`;
    optimizely!.personal(user);
    segment!.api.add({
      externalIds: [
        { type: 'user_id', id: user, createdAt: iso(emailFirst ? 0 : 5) },
        { type: 'anonymous_id', id: anon, createdAt: iso(emailFirst ? 5 : 0) },
      ],
      traits: { plan: 'free' },
    });
    const viaApi = await decide({ identifiers: { anonymous_id: anon } });
    expect(viaApi.identity?.source).toBe('profile-api');

    const other = await createTestTable('read-through-webhook');
    const webhookApp = await startTestApp({
      ...settings('http://127.0.0.1:9', other.tableName),
      SEGMENT_SPACE_ID: '',
    });
    try {
      const events = [
        { type: 'identify', userId: user, traits: { plan: 'free' }, timestamp: iso(emailFirst ? 0 : 5) },
        {
          type: 'page',
          anonymousId: anon,
          userId: emailFirst ? user : undefined,
          timestamp: iso(emailFirst ? 5 : 0),
        },
        { type: 'identify', userId: user, anonymousId: anon, timestamp: iso(6) },
      ].map((e, i) => ({ ...e, messageId: `${label}-${run}-${i}` }));
      const sent = await sendSegment({ url: webhookApp.url }, events);
      expect(sent).toMatchObject({ status: 200, body: { rejected: [] } });
      const viaWebhook = await decide({ identifiers: { anonymous_id: anon } }, { url: webhookApp.url });
      expect(viaWebhook.identity?.source).toBe('cache');
      expect(viaApi.identity?.canonicalId).toBe(viaWebhook.identity?.canonicalId);
      expect(viaApi.variationKey).toBe(viaWebhook.variationKey);
      if (emailFirst) expect(viaApi.identity?.canonicalId).toMatch(/^cw1_/);
      else expect(viaApi.identity?.canonicalId).toBe(anon);
    } finally {
      await webhookApp.close();
      await other.drop();
    }
  });
});

describe('other callers', () => {
  it('resolves a Segment-only person for an identity lookup', async () => {
    const p = person('lookup');
    segment!.api.add(p);
    const response = await fetch(`${app!.url}/v1/identities/lookup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ADMIN },
      body: JSON.stringify({ type: 'user_id', value: p.user }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      canonicalId: string;
      identifiers: { type: string }[];
      accounts: unknown[];
    };
    expect(body.canonicalId).toBe(p.anon);
    expect(body.identifiers.map((i) => i.type).sort()).toEqual(['anonymous_id', 'email', 'user_id']);
    expect(body.accounts).toEqual([
      { id: `globex-${run}`, traits: { industry: 'Retail', name: 'Globex', plan: 'enterprise', seats: 40 } },
    ]);
  });

  it('learns the person for a client key too, and tells it nothing it did not send', async () => {
    const p = person('client');
    segment!.api.add(p);
    const response = await fetch(`${app!.url}/v1/decide?keys=team_dashboard&includeIdentity=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': CLIENT },
      body: JSON.stringify({
        identifiers: { anonymous_id: p.anon },
        decideOptions: ['DISABLE_DECISION_EVENT'],
      }),
    });
    const body = (await response.json()) as Decision;
    expect(body.identity).toBeUndefined();
    expect(body.userContext).toEqual({ userId: p.anon, attributes: {} });
    const operator = await decide({ identifiers: { anonymous_id: p.anon } });
    expect(operator.identity).toMatchObject({ source: 'cache', userId: p.user });
  });
});

describe('never worse than without it', () => {
  const cases: [string, () => void][] = [
    ['429', () => (segment!.api.fault = { kind: 'status', status: 429 })],
    ['500', () => (segment!.api.fault = { kind: 'status', status: 500 })],
    ['401', () => (segment!.api.fault = { kind: 'status', status: 401 })],
    ['malformed JSON', () => (segment!.api.fault = { kind: 'malformed' })],
    ['a 10 MB answer', () => (segment!.api.fault = { kind: 'huge', bytes: 10 * 1024 * 1024 })],
    ['2,000 external ids', () => (segment!.api.fault = { kind: 'many-ids', count: 2_000 })],
  ];

  it.each(cases)('answers on the request identifier and writes nothing on %s', async (name, fault) => {
    const p = person(`fault-${name.replace(/\W+/g, '')}`);
    segment!.api.add(p);
    fault();
    const answer = await decide({ identifiers: { anonymous_id: p.anon } });
    expect(answer.identity).toMatchObject({ source: 'request', canonicalId: p.anon, accountId: null });
    expect(await stored(table!.tableName, 'anonymous_id', p.anon)).toEqual([]);
    expect(await stored(table!.tableName, 'anonymous_id', 'many-0')).toEqual([]);
  });

  it('does not wait for a slow Profile API: the answer comes before Segment’s', async () => {
    const p = person('slow');
    segment!.api.add(p);
    segment!.api.latencyMs = 5_000;
    const received = segment!.api.received;
    const answered = segment!.api.calls.length;
    const answer = await decide({ identifiers: { anonymous_id: p.anon } });
    expect(answer.identity).toMatchObject({ source: 'request', canonicalId: p.anon });
    // The call went out, and the decide answered while Segment was still working on it.
    expect(segment!.api.received - received).toBe(1);
    expect(segment!.api.calls.length - answered).toBe(0);
    expect(await stored(table!.tableName, 'anonymous_id', p.anon)).toEqual([]);
  });

  it('writes nothing when the account does not arrive in time: all or nothing', async () => {
    const p = person('slow-links');
    segment!.api.add(p);
    segment!.api.resourceLatencyMs = { links: 5_000 };
    try {
      const answer = await decide({ identifiers: { anonymous_id: p.anon } });
      expect(answer.identity).toMatchObject({ source: 'request', canonicalId: p.anon, accountId: null });
      expect(await stored(table!.tableName, 'anonymous_id', p.anon)).toEqual([]);
    } finally {
      segment!.api.resourceLatencyMs = {};
    }
    // The next request asks again, and learns the person whole.
    const again = await decide({ identifiers: { anonymous_id: p.anon } });
    expect(again.identity).toMatchObject({ source: 'profile-api', accountId: `globex-${run}` });
  });

  it('answers as without it when the Profile API cannot be reached', async () => {
    const down = await startTestApp(settings('http://127.0.0.1:9', table!.tableName));
    try {
      const answer = await decide({ identifiers: { anonymous_id: `nobody-${run}` } }, { url: down.url });
      expect(answer.identity).toMatchObject({ source: 'request', canonicalId: `nobody-${run}` });
    } finally {
      await down.close();
    }
  });
});

describe('calls it saves', () => {
  it('shares one call among concurrent misses for the same identifier', async () => {
    const p = person('crowd');
    segment!.api.add(p);
    segment!.api.latencyMs = 50;
    const before = segment!.api.count('external_ids');
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => decide({ identifiers: { anonymous_id: p.anon } })),
    );
    expect(new Set(answers.map((a) => a.identity?.canonicalId))).toEqual(new Set([p.anon]));
    expect(segment!.api.count('external_ids') - before).toBe(1);
  });

  it('asks once for someone Segment does not know, within IDENTITY_NEGATIVE_CACHE_TTL_MS', async () => {
    const before = segment!.api.count('external_ids');
    await decide({ identifiers: { anonymous_id: `unknown-${run}` } });
    await decide({ identifiers: { anonymous_id: `unknown-${run}`, ios_id: `x-${run}` } });
    expect(segment!.api.count('external_ids') - before).toBe(1);
  });

  it('never asks for a deleted identifier', async () => {
    const p = person('gone');
    segment!.api.add(p);
    const deleted = await sendSegment({ url: app!.url }, [
      { type: 'delete', userId: p.user, messageId: `delete-${run}`, timestamp: new Date().toISOString() },
    ]);
    expect(deleted.status).toBe(200);
    const before = segment!.api.calls.length;
    const answer = await decide({ userId: p.user });
    expect(answer.identity).toMatchObject({ source: 'request' });
    expect(segment!.api.calls.length - before).toBe(0);
  });

  it('never puts a personal identifier in a Profile API URL', async () => {
    const before = segment!.api.calls.length;
    await decide({ identifiers: { email: `someone-${run}@example.com` } });
    await decide({ userId: `+49 170 ${run.replace(/\D/g, '1').padEnd(7, '1')}` });
    expect(segment!.api.calls.length - before).toBe(0);
  });
});
