/**
 * Agent's per-user state kept in DynamoDB: an override or a saved user profile written through one
 * server process is what another process (another Lambda container) decides with. Both follow the
 * person, not the identifier: they are keyed by the stable experiment id.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../../support/app';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../../support/optimizely';

const SDK_KEY = 'KZbunNn9bVfBWLpZPq2XC4';
const datafile = readFileSync(
  resolve(import.meta.dirname, '..', '..', 'fixtures', 'agent', 'acceptance', `datafile_${SDK_KEY}.json`),
  'utf8',
);
const CLIENT_KEY = 'shared-state-client';
const ADMIN_KEY = 'shared-state-admin';
const run = randomUUID().slice(0, 8);
/** ab_test1 and feature_2_test: ids from Agent's datafile. */
const AB_TEST1 = { id: '16911963060', variation_1: '16905941566', variation_2: '16927770169' };

type Json = Record<string, unknown>;

let table: TestTable;
let cdn: TestOptimizely;
let first: TestApp;
let second: TestApp;
let plain: TestApp;

beforeAll(async () => {
  [table, cdn] = await Promise.all([
    createTestTable('agent-state'),
    startTestOptimizely(new Map([[SDK_KEY, datafile]])),
  ]);
  const settings = {
    TABLE_NAME: table.tableName,
    API_KEYS: CLIENT_KEY,
    ADMIN_API_KEYS: ADMIN_KEY,
    OPTIMIZELY_SDK_KEY: SDK_KEY,
    OPTIMIZELY_SDK_KEYS: SDK_KEY,
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: cdn.datafileUrlTemplate,
    OPTIMIZELY_EVENT_ENDPOINT: cdn.eventEndpoint,
    ENABLE_OVERRIDES: 'true',
    OVERRIDE_CACHE_TTL_MS: '0',
    USER_PROFILE_SERVICE: 'dynamodb',
  };
  // Two processes' worth of containers on one table, and one deployed with Agent's defaults.
  [first, second, plain] = await Promise.all([
    startTestApp(settings),
    startTestApp(settings),
    startTestApp({ ...settings, ENABLE_OVERRIDES: undefined, USER_PROFILE_SERVICE: undefined }),
  ]);
});

afterAll(async () => {
  try {
    // Decision events leave after the answers: let the servers finish them before checking.
    await Promise.all([first?.server.idle(), second?.server.idle(), plain?.server.idle()]);
    cdn?.assertNoPersonalData();
  } finally {
    await Promise.all([first?.close(), second?.close(), plain?.close()]);
    await cdn?.close();
    await table?.drop();
  }
});

async function post(app: TestApp, path: string, body: unknown, key = ADMIN_KEY) {
  const response = await fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as Json & Json[] };
}

const hola = { attr_1: 'hola' };

describe('overrides', () => {
  it('set in one process, decide and activate in another with the forced variation; removal is seen too', async () => {
    const userId = `override-${run}`;
    const activate = async () =>
      (await post(second, '/v1/activate?experimentKey=ab_test1', { userId, userAttributes: hola })).body[0];
    expect(await activate()).toMatchObject({ variationKey: 'variation_1' });

    const set = await post(first, '/v1/override', {
      userId,
      experimentKey: 'ab_test1',
      variationKey: 'variation_2',
    });
    expect(set).toEqual({
      status: 200,
      body: {
        userId,
        experimentKey: 'ab_test1',
        variationKey: 'variation_2',
        prevVariationKey: '',
        messages: null,
      },
    });
    expect(await activate()).toMatchObject({ variationKey: 'variation_2' });
    // decide honours it too: the flag whose experiment rule is ab_test1.
    const decided = await post(second, '/v1/decide?keys=GkbzTurBWXr8EtNGZj2j6e', {
      userId,
      userAttributes: hola,
    });
    expect(decided.body).toMatchObject({ variationKey: 'variation_2', ruleKey: 'ab_test1' });

    const removed = await post(first, '/v1/override', {
      userId,
      experimentKey: 'ab_test1',
      variationKey: '',
    });
    expect(removed.body).toMatchObject({
      prevVariationKey: 'variation_2',
      messages: ['removing previous override'],
    });
    expect(await activate()).toMatchObject({ variationKey: 'variation_1' });
  });

  it('follows the person: set by user id, applied when the app only knows the anonymous id', async () => {
    const userId = `known-${run}`;
    const anonymousId = `anon-${run}`;
    const linked = await fetch(`${first.url}/webhooks/segment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'identify',
        messageId: `link-${run}`,
        timestamp: '2026-11-24T09:00:00.000Z',
        userId,
        anonymousId,
        traits: {},
      }),
    });
    expect(linked.status).toBe(200);
    await post(first, '/v1/override', { userId, experimentKey: 'ab_test1', variationKey: 'variation_2' });
    const decided = await post(second, '/v1/decide?keys=GkbzTurBWXr8EtNGZj2j6e', {
      identifiers: { anonymous_id: anonymousId },
      userAttributes: hola,
    });
    expect(decided.body).toMatchObject({ variationKey: 'variation_2', identity: { userId } });
  });

  it('are an operator tool: a client key is refused, and a deployment without ENABLE_OVERRIDES answers as Agent does', async () => {
    const body = { userId: 'someone', experimentKey: 'ab_test1', variationKey: 'variation_2' };
    const client = await post(first, '/v1/override', body, CLIENT_KEY);
    expect(client.status).toBe(403);
    expect(client.body.error).toMatch(/operator key/);
    expect(await post(plain, '/v1/override', body)).toEqual({
      status: 403,
      body: { error: 'Overrides not enabled' },
    });
  });
});

describe('the user profile service', () => {
  it('saves in one process and looks up and decides in another; IGNORE_USER_PROFILE_SERVICE bypasses it', async () => {
    const userId = `sticky-${run}`;
    const buckets = { [AB_TEST1.id]: { variation_id: AB_TEST1.variation_2 } };
    expect((await post(first, '/v1/save', { userId, experimentBucketMap: buckets })).status).toBe(200);
    expect(await post(second, '/v1/lookup', { userId })).toEqual({
      status: 200,
      body: { userId, experimentBucketMap: buckets },
    });
    // The saved variation wins over bucketing, without audience evaluation (no attributes sent).
    const sticky = await post(second, '/v1/decide?keys=GkbzTurBWXr8EtNGZj2j6e', { userId });
    expect(sticky.body).toMatchObject({ variationKey: 'variation_2', ruleKey: 'ab_test1' });
    const ignored = await post(second, '/v1/decide?keys=GkbzTurBWXr8EtNGZj2j6e', {
      userId,
      userAttributes: hola,
      decideOptions: ['IGNORE_USER_PROFILE_SERVICE'],
    });
    expect(ignored.body).toMatchObject({ variationKey: 'variation_1' });
  });

  it('keeps a bucketing made while anonymous once the person logs in', async () => {
    const anonymousId = `first-visit-${run}`;
    const userId = `logged-in-${run}`;
    const before = await post(first, '/v1/decide?keys=GkbzTurBWXr8EtNGZj2j6e', {
      identifiers: { anonymous_id: anonymousId },
      userAttributes: hola,
    });
    expect(before.body).toMatchObject({ variationKey: 'variation_1' });
    const canonicalId = String((before.body.identity as Json).canonicalId);
    // What was saved is keyed by the experiment id, not by the identifier the request used.
    await post(first, '/v1/save', {
      userId: canonicalId,
      experimentBucketMap: { [AB_TEST1.id]: { variation_id: AB_TEST1.variation_2 } },
    });
    const login = await fetch(`${first.url}/webhooks/segment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'identify',
        messageId: `login-${run}`,
        timestamp: '2026-11-24T10:00:00.000Z',
        userId,
        anonymousId,
        traits: {},
      }),
    });
    expect(login.status).toBe(200);
    const after = await post(second, '/v1/decide?keys=GkbzTurBWXr8EtNGZj2j6e&includeIdentity=true', {
      userId,
      userAttributes: hola,
    });
    expect(after.body).toMatchObject({ variationKey: 'variation_2', identity: { canonicalId } });
  });

  it('answers lookup and save as refused where the deployment keeps no profiles, and refuses bad saves', async () => {
    expect(await post(plain, '/v1/lookup', { userId: 'u' })).toEqual({
      status: 403,
      body: { error: 'no user profile service found' },
    });
    const missing = await post(first, '/v1/lookup', {});
    expect(missing).toEqual({ status: 400, body: { error: 'missing "userId" in request payload' } });
    const bad = await post(first, '/v1/save', {
      userId: 'u',
      experimentBucketMap: { x: { variationId: 'v' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(
      /^error parsing request body: experimentBucketMap: each entry needs a "variation_id" string/,
    );
    const hostile = await post(
      first,
      '/v1/save',
      JSON.parse('{"userId":"u","experimentBucketMap":{"__proto__":{"variation_id":"v"}}}'),
    );
    expect(hostile.status).toBe(400);
  });
});

describe('batch', () => {
  it("runs each operation as the batch's caller, with the operation's own status", async () => {
    const userId = `batch-${run}`;
    const operations = [
      {
        method: 'POST',
        url: '/v1/decide?keys=feature_1',
        operationID: 'a',
        body: { userId, userAttributes: hola },
      },
      {
        method: 'POST',
        url: '/v1/override',
        operationID: 'b',
        body: { userId, experimentKey: 'ab_test1', variationKey: 'variation_2' },
      },
      { method: 'GET', url: '/v1/identities/user_id/x', operationID: 'c' },
      { method: 'POST', url: '/v1/batch', operationID: 'd', body: { operations: [] } },
    ];
    const answer = await post(first, '/v1/batch', { operations }, CLIENT_KEY);
    expect(answer.status).toBe(200);
    const items = answer.body.response as unknown as Json[];
    expect(items.map((i) => [i.operationID, i.status])).toEqual([
      ['a', 200],
      ['b', 403],
      ['c', 404],
      ['d', 400],
    ]);
    expect(answer.body.errorCount).toBe(3);
    expect(items[0]?.body).toMatchObject({ flagKey: 'feature_1', enabled: true });
  });

  it('refuses more operations than BATCH_OPERATIONS_LIMIT and bodies it cannot decode', async () => {
    const ops = Array.from({ length: 501 }, (_, i) => ({
      method: 'GET',
      url: '/v1/config',
      operationID: String(i),
    }));
    expect(await post(first, '/v1/batch', { operations: ops })).toEqual({
      status: 422,
      body: { error: 'too many operations, exceeding 500 operations' },
    });
    const bad = await post(first, '/v1/batch', {
      operations: [{ method: 'GET', url: '/v1/config', params: { a: 1 } }],
    });
    expect(bad).toEqual({ status: 400, body: { error: 'cannot decode the operation body' } });
  });
});
