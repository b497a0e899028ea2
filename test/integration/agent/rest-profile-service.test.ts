/**
 * Crosswalk as the user profile service of a team that keeps Optimizely Agent: Agent's REST plugin
 * (played by test/support/agent-rest-ups.ts, which sends exactly what Agent sends and reads the
 * answers exactly as Agent does) against the real local server. Profiles are kept per person (the
 * stable experiment id), so what Agent saves under a user id is what Crosswalk decides with for
 * that person under any identifier, and the other way round.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoDbUserProfileStore } from '../../../src/agent/dynamodb/stores';
import { AgentRestUps, type RestUpsConfig } from '../../support/agent-rest-ups';
import { startTestApp, type TestApp } from '../../support/app';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../../support/optimizely';

const SDK_KEY = 'KZbunNn9bVfBWLpZPq2XC4';
const datafile = readFileSync(
  resolve(import.meta.dirname, '..', '..', 'fixtures', 'agent', 'acceptance', `datafile_${SDK_KEY}.json`),
  'utf8',
);
const CLIENT_KEY = 'rest-ups-client';
const ADMIN_KEY = 'rest-ups-admin';
const run = randomUUID().slice(0, 8);
/** feature_2_test, from Agent's datafile. */
const FEATURE_2_TEST = { id: '16910084756', variation_1: '16925360560', variation_2: '16915611472' };

type Json = Record<string, unknown>;

let table: TestTable;
let fake: TestOptimizely;
let app: TestApp;
let off: TestApp;

beforeAll(async () => {
  [table, fake] = await Promise.all([
    createTestTable('rest-ups'),
    startTestOptimizely(new Map([[SDK_KEY, datafile]])),
  ]);
  const settings = {
    TABLE_NAME: table.tableName,
    API_KEYS: CLIENT_KEY,
    ADMIN_API_KEYS: ADMIN_KEY,
    OPTIMIZELY_SDK_KEY: SDK_KEY,
    OPTIMIZELY_SDK_KEYS: SDK_KEY,
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: fake.datafileUrlTemplate,
    OPTIMIZELY_EVENT_ENDPOINT: fake.eventEndpoint,
    USER_PROFILE_SERVICE: 'dynamodb',
  };
  [app, off] = await Promise.all([
    startTestApp(settings),
    startTestApp({ ...settings, USER_PROFILE_SERVICE: undefined }),
  ]);
});

afterAll(async () => {
  try {
    await Promise.all([app?.server.idle(), off?.server.idle()]);
    fake?.assertNoPersonalData();
  } finally {
    await Promise.all([app?.close(), off?.close()]);
    await fake?.close();
    await table?.drop();
  }
});

/** The plugin as the docs' config.yaml sets it up: POST, `user_id`, the operator key in a header. */
const plugin = (overrides: Partial<RestUpsConfig> = {}, server = () => app) =>
  new AgentRestUps({
    host: server().url,
    lookupPath: '/v1/ups/lookup',
    savePath: '/v1/ups/save',
    headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    ...overrides,
  });

async function post(path: string, body: unknown, key = ADMIN_KEY) {
  const response = await fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, body: (text ? JSON.parse(text) : null) as Json };
}

async function identify(anonymousId: string, userId: string): Promise<void> {
  const response = await fetch(`${app.url}/webhooks/segment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Segment (Actions)' },
    body: JSON.stringify({
      type: 'identify',
      messageId: `${run}-${anonymousId}`,
      timestamp: '2026-11-24T09:00:00.000Z',
      anonymousId,
      userId,
      traits: {},
    }),
  });
  expect(response.status).toBe(200);
}

describe("Agent's REST plugin, as configured by default (POST, user_id)", () => {
  it('sends what Agent sends and reads back what it saved, as the whole profile', async () => {
    const ups = plugin();
    const user = `agent-user-${run}`;
    // A first lookup: nobody known yet, an empty profile the plugin accepts (its id set).
    const first = await ups.lookup(user);
    expect(first).toEqual({ id: user, experimentBucketMap: new Map() });
    expect(ups.sent[0]).toEqual({
      method: 'POST',
      url: `${app.url}/v1/ups/lookup`,
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        Authorization: `Bearer ${ADMIN_KEY}`,
      },
      body: `{"user_id":"${user}"}`,
    });

    // Agent's save after a bucketing: the looked-up profile plus the new entry.
    const profile = {
      id: user,
      experimentBucketMap: new Map([[FEATURE_2_TEST.id, FEATURE_2_TEST.variation_2]]),
    };
    expect(await ups.save(profile)).toBe(true);
    expect(ups.sent[1]?.body).toBe(
      `{"experiment_bucket_map":{"${FEATURE_2_TEST.id}":{"variation_id":"${FEATURE_2_TEST.variation_2}"}},"user_id":"${user}"}`,
    );
    expect(await ups.lookup(user)).toEqual(profile);

    // Crosswalk's own decide honours it (operator key: as Agent would), and Agent's /v1/lookup shows it.
    const decision = await post('/v1/decide?keys=feature_2', {
      userId: user,
      userAttributes: { attr_1: 'hola' },
    });
    expect(decision.body).toMatchObject({ variationKey: 'variation_2', ruleKey: 'feature_2_test' });
    expect((await post('/v1/lookup', { userId: user })).body).toEqual({
      userId: user,
      experimentBucketMap: { [FEATURE_2_TEST.id]: { variation_id: FEATURE_2_TEST.variation_2 } },
    });
  });

  it("keeps the profile per person: Agent's save under the user id is what Crosswalk decides with under the anonymous id", async () => {
    const anonymousId = `anon-${run}`;
    const userId = `login-${run}`;
    await identify(anonymousId, userId);
    const ups = plugin();
    expect(
      await ups.save({
        id: userId,
        experimentBucketMap: new Map([[FEATURE_2_TEST.id, FEATURE_2_TEST.variation_2]]),
      }),
    ).toBe(true);
    const decision = await post('/v1/decide?keys=feature_2', {
      identifiers: { anonymous_id: anonymousId },
      userAttributes: { attr_1: 'hola' },
      decideOptions: ['INCLUDE_REASONS'],
    });
    expect(decision.body).toMatchObject({ variationKey: 'variation_2' });
    // Honoured from the saved profile (the sticky reason), not bucketed afresh.
    expect(
      (decision.body.reasons as string[]).some((r) =>
        r.startsWith('Returning previously activated variation "variation_2" of experiment "feature_2_test"'),
      ),
    ).toBe(true);

    // And the other way round: what Crosswalk saved for the anonymous visitor, Agent reads under the user id.
    const other = `other-anon-${run}`;
    const otherUser = `other-login-${run}`;
    await identify(other, otherUser);
    await post('/v1/decide?keys=feature_2', {
      identifiers: { anonymous_id: other },
      userAttributes: { attr_1: 'hola' },
    });
    const seen = await ups.lookup(otherUser);
    expect(seen.id).toBe(otherUser);
    expect([...seen.experimentBucketMap.keys()]).toEqual([FEATURE_2_TEST.id]);
  });

  it('never answers an entry Agent cannot read, whatever the store holds', async () => {
    const user = `damaged-${run}`;
    const identity = await post('/v1/decide?keys=feature_3&includeIdentity=true', { userId: user });
    const experimentId = (identity.body as { identity: { canonicalId: string } }).identity.canonicalId;
    const store = new DynamoDbUserProfileStore({
      client: table.client,
      tableName: table.tableName,
      ttlDays: 1,
    });
    await store.put(SDK_KEY, experimentId, {
      [FEATURE_2_TEST.id]: { variation_id: FEATURE_2_TEST.variation_1 },
      '111': {} as { variation_id: string },
      '222': { variation_id: 42 } as unknown as { variation_id: string },
      '333': { variation_id: '' },
    });
    // The plugin would panic on any of the last three; it reads the first alone.
    expect(await plugin().lookup(user)).toEqual({
      id: user,
      experimentBucketMap: new Map([[FEATURE_2_TEST.id, FEATURE_2_TEST.variation_1]]),
    });
  });
});

describe("Agent's REST plugin with GET and its own userIDKey", () => {
  it('takes the user id and the bucket map from the query string, and answers under the same key', async () => {
    const ups = plugin({ lookupMethod: 'GET', saveMethod: 'GET', userIDKey: 'uid' });
    const user = `get-user-${run}`;
    const profile = {
      id: user,
      experimentBucketMap: new Map([[FEATURE_2_TEST.id, FEATURE_2_TEST.variation_1]]),
    };
    expect(await ups.save(profile)).toBe(true);
    expect(ups.sent[0]).toMatchObject({
      method: 'GET',
      body: undefined,
      url: `${app.url}/v1/ups/save?experiment_bucket_map=${encodeURIComponent(
        `{"${FEATURE_2_TEST.id}":{"variation_id":"${FEATURE_2_TEST.variation_1}"}}`,
      )}&uid=${user}`,
    });
    expect(await ups.lookup(user)).toEqual(profile);
    const raw = await fetch(`${app.url}/v1/ups/lookup?uid=${user}`, { headers: { 'x-api-key': ADMIN_KEY } });
    expect(await raw.text()).toBe(
      `{"uid":"${user}","experiment_bucket_map":{"${FEATURE_2_TEST.id}":{"variation_id":"${FEATURE_2_TEST.variation_1}"}}}\n`,
    );
  });

  it('takes a POST body under a custom userIDKey too', async () => {
    const ups = plugin({ userIDKey: 'visitor' });
    const user = `visitor-${run}`;
    expect(await ups.save({ id: user, experimentBucketMap: new Map([['16911963060', '16905941566']]) })).toBe(
      true,
    );
    expect((await ups.lookup(user)).experimentBucketMap).toEqual(new Map([['16911963060', '16905941566']]));
  });
});

describe('what the plugin gets when it may not, or asks wrongly', () => {
  it('needs an operator key, in the header Agent sends (Authorization or x-api-key); anything else reads as an empty profile', async () => {
    const user = `auth-${run}`;
    await plugin().save({
      id: user,
      experimentBucketMap: new Map([[FEATURE_2_TEST.id, FEATURE_2_TEST.variation_1]]),
    });
    expect(
      (await plugin({ headers: { 'x-api-key': ADMIN_KEY } }).lookup(user)).experimentBucketMap.size,
    ).toBe(1);
    const refusals: Record<string, string>[] = [
      {},
      { 'x-api-key': CLIENT_KEY },
      { Authorization: 'Bearer wrong' },
    ];
    for (const headers of refusals) {
      expect(await plugin({ headers }).lookup(user)).toEqual({ id: '', experimentBucketMap: new Map() });
      expect(await plugin({ headers }).save({ id: user, experimentBucketMap: new Map() })).toBe(false);
    }
    const refused = await post('/v1/ups/lookup', { user_id: user }, CLIENT_KEY);
    expect(refused.status).toBe(403);
    // Still saved as it was: the refused saves changed nothing.
    expect((await plugin().lookup(user)).experimentBucketMap.size).toBe(1);
  });

  it('answers 400 naming the rule for a request without a user id or with a bad bucket map', async () => {
    const missing = await post('/v1/ups/lookup', { id: 1 });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toContain('"user_id"');
    const empty = await post('/v1/ups/lookup', { user_id: '' });
    expect(empty.status).toBe(400);
    const bad = await post('/v1/ups/save', {
      user_id: `bad-${run}`,
      experiment_bucket_map: { '1': { variation_id: 7 } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('experiment_bucket_map');
    expect(bad.text.endsWith('}\n')).toBe(true);
  });

  it('answers 403 when this deployment keeps no profiles, which the plugin reads as an empty profile', async () => {
    const ups = plugin({}, () => off);
    expect(await ups.lookup(`off-${run}`)).toEqual({ id: '', experimentBucketMap: new Map() });
    const response = await fetch(`${off.url}/v1/ups/lookup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY },
      body: '{"user_id":"x"}',
    });
    expect(response.status).toBe(403);
    expect(await response.text()).toBe('{"error":"no user profile service found"}\n');
  });
});
