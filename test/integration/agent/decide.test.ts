import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { OpenAPIBackend } from 'openapi-backend';
import { agentApiDependencies } from '../../../functions/agent-api/dependencies';
import { createAgentApiHandler } from '../../../functions/agent-api/handler';
import type { CachedIdentityReader } from '../../../src/identity/cache';
import { DynamoDbDatafileStore } from '../../../src/optimizely/dynamodb/datafile-store';
import { countDynamoDbRequests } from '../../../src/platform/dynamodb/client';
import { SAMPLE_DATAFILE_PATH, sampleDatafile } from '../../support/agent';
import { agentApi } from '../../support/agent-openapi';
import { callHandler, startTestApp, type TestApp } from '../../support/app';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../../support/optimizely';
import { outboxUuids } from '../../support/outbox';

const API_KEY = 'decide-test-key';
const ADMIN_KEY = 'decide-admin-key';
const admin = { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' };
const WEBHOOK_SECRET = 'optimizely-webhook-secret';
const auth = { 'x-api-key': API_KEY, 'content-type': 'application/json' };
const declared = new Set(
  (JSON.parse(sampleDatafile()) as { attributes: { key: string }[] }).attributes.map((a) => a.key),
);

let server: TestApp | undefined;
let table: TestTable | undefined;
let fake: TestOptimizely | undefined;
let api: OpenAPIBackend;
let settings: Record<string, string>;
const run = randomUUID().slice(0, 8);
/** Event batches the fake event endpoint received. */
const events = () => fake!.optimizely.batches;
/** Answers come before event delivery: wait for the server's requests to settle before reading events. */
const settled = () => server!.server.idle();

async function segment(events: Record<string, unknown>[]): Promise<void> {
  const response = await fetch(`${server!.url}/webhooks/segment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Segment (Actions)' },
    body: JSON.stringify(events),
  });
  expect(response.status).toBe(200);
  expect(((await response.json()) as { rejected: unknown[] }).rejected).toEqual([]);
}

let messages = 0;
function call(type: string, fields: Record<string, unknown>): Record<string, unknown> {
  messages++;
  return {
    type,
    messageId: `${run}-m${messages}`,
    timestamp: new Date(Date.UTC(2026, 10, 24, 9, 0, messages)).toISOString(),
    context: { library: { name: 'analytics-node', version: '2.1.0' } },
    ...fields,
  };
}

type Json = Record<string, unknown>;

async function post(path: string, body: unknown, headers: Record<string, string> = auth) {
  const response = await fetch(`${server!.url}${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Json & Json[],
  };
}

function expectValid(operationId: string, status: number, body: unknown): void {
  const result = api.validateResponse(body, operationId, status);
  expect(result.errors ?? []).toEqual([]);
}

beforeAll(async () => {
  [table, fake, api] = await Promise.all([createTestTable('decide'), startTestOptimizely(), agentApi()]);
  settings = {
    TABLE_NAME: table.tableName,
    API_KEYS: API_KEY,
    ADMIN_API_KEYS: ADMIN_KEY,
    OPTIMIZELY_SDK_KEYS: '*',
    OPTIMIZELY_WEBHOOK_SECRET: WEBHOOK_SECRET,
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE_PATH,
    OPTIMIZELY_EVENT_ENDPOINT: fake.eventEndpoint,
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: fake.datafileUrlTemplate,
    ACCOUNT_BUCKETED_FLAGS: 'team_dashboard',
    MAX_DECIDE_KEYS: '5',
    MAX_IDENTIFIERS_PER_REQUEST: '3',
    MAX_BODY_BYTES: '4096',
  };
  server = await startTestApp(settings);
});

afterAll(async () => {
  try {
    // Decision events leave after the answers: let the server finish them before checking.
    await server?.server.idle();
    fake?.assertNoPersonalData();
  } finally {
    await server?.close();
    await fake?.close();
    await table?.drop();
  }
});

beforeEach(async () => {
  await settled();
  events().length = 0;
  fake!.optimizely.eventStatus = 200;
});

describe('the seed scenario: Albert across surfaces', () => {
  const albert = `albert-123-${run}`;
  const mobile = `albert-xyz-${run}`;
  const web = `web-${run}`;
  const email = `albert-${run}@example.com`;

  beforeAll(async () => {
    await segment([
      call('identify', {
        userId: albert,
        anonymousId: web,
        traits: { email, plan: 'pro', name: 'Albert Z' },
      }),
      call('identify', { anonymousId: mobile, traits: { email, country: 'DE' } }),
    ]);
  });

  it('gives identical decisions for his user id, his mobile anonymous id and his email', async () => {
    const bodies = [
      { userId: albert },
      { identifiers: { anonymous_id: mobile } },
      { identifiers: { email } },
    ];
    const answers = [];
    for (const body of bodies) {
      const response = await post('/v1/decide', body);
      expect(response.status).toBe(200);
      expectValid('decide', 200, response.body);
      answers.push(response.body as unknown as Json[]);
    }
    const shape = (decisions: Json[]) =>
      decisions.map(({ flagKey, enabled, variationKey, ruleKey, variables }) => ({
        flagKey,
        enabled,
        variationKey,
        ruleKey,
        variables,
      }));
    expect(answers[0]).toHaveLength(4);
    expect(shape(answers[1] ?? [])).toEqual(shape(answers[0] ?? []));
    expect(shape(answers[2] ?? [])).toEqual(shape(answers[0] ?? []));
    // The pro plan trait puts him in the A/B test's audience.
    expect(answers[0]?.[0]).toMatchObject({
      flagKey: 'checkout_redesign',
      ruleKey: 'checkout_redesign_test',
    });
    // His web anonymous id was seen first (with his user id, at signup): it is his experiment id,
    // which only an operator key is told (a client key's answer carries nothing it did not send).
    expect(answers[1]?.[0]?.identity).toBeUndefined();
    const operator = (await post('/v1/decide', bodies[1], admin)).body as unknown as Json[];
    expect(operator[0]?.identity).toMatchObject({
      canonicalId: web,
      userId: albert,
      matchedBy: { type: 'anonymous_id', value: mobile },
      source: 'cache',
    });
    // Agent echoes the request's userId; without one, a client key gets the identifier it sent and
    // an operator key the experiment id the events carry.
    expect(answers[0]?.[0]?.userContext).toMatchObject({ userId: albert });
    expect(answers[2]?.[0]?.userContext).toMatchObject({ userId: email });
    expect(operator[0]?.userContext).toMatchObject({ userId: web });
  });

  it('has every decision event delivered after the answer, with the canonical id and declared attributes only', async () => {
    const response = await post('/v1/decide?keys=checkout_redesign&keys=search_ranking', {
      identifiers: { anonymous_id: mobile },
    });
    expect(response.status).toBe(200);
    await settled();
    // The request's two decision events arrive as one batch of two visitors.
    expect(events()).toHaveLength(1);
    const visitors = events().flatMap(
      (batch) => (batch as { visitors: { visitor_id: string; attributes: { key: string }[] }[] }).visitors,
    );
    expect(visitors).toHaveLength(2);
    for (const visitor of visitors) {
      expect(visitor.visitor_id).toBe(web);
      for (const { key } of visitor.attributes)
        expect(declared.has(key) || key.startsWith('$opt_')).toBe(true);
      expect(visitor.attributes.map((a) => a.key)).toEqual(expect.arrayContaining(['plan', 'country']));
    }
    expect(JSON.stringify(events())).not.toContain(email);
  });

  it('tracks a conversion for the canonical id, delivered after the answer', async () => {
    const response = await post('/v1/track?eventKey=purchase', {
      identifiers: { email },
      eventTags: { revenue: 4200 },
    });
    expect(response.status).toBe(200);
    await settled();
    expectValid('trackEvent', 200, response.body);
    // A client key gets back the identifier it sent; the event carries the experiment id.
    expect(response.body).toMatchObject({ userId: email, eventKey: 'purchase' });
    expect(events()).toHaveLength(1);
    expect(JSON.stringify(events()[0])).toContain(web);
    expect(JSON.stringify(events()[0])).not.toContain(email);
    // Delivered, so its stored copy is gone.
    expect(await outboxUuids(table!)).toEqual([]);
  });

  it('answers a track whose conversion the event API refuses to take now: stored for redelivery', async () => {
    fake!.optimizely.eventStatus = 500;
    const response = await post('/v1/track?eventKey=purchase', { userId: albert });
    expect(response.status).toBe(200);
    await settled();
    expect(events()).toHaveLength(0);
    expect(await outboxUuids(table!)).toHaveLength(1);
  });

  it('answers a decide whose events could not be delivered, and stores them for redelivery', async () => {
    fake!.optimizely.eventStatus = 500;
    const stored = (await outboxUuids(table!)).length;
    const response = await post('/v1/decide?keys=search_ranking', { userId: albert });
    expect(response.status).toBe(200);
    expectValid('decide', 200, response.body);
    await settled();
    expect(await outboxUuids(table!)).toHaveLength(stored + 1);
  });
});

describe('account bucketing', () => {
  it('gives all members of one account one variation of team_dashboard while search_ranking varies among them', async () => {
    const account = `acme-${run}`;
    const members = Array.from({ length: 12 }, (_, i) => `acme-user-${i}-${run}`);
    await segment(
      members.map((userId) =>
        call('group', { userId, groupId: account, traits: { plan: 'enterprise', name: 'Acme' } }),
      ),
    );
    const team = new Set<string>();
    const search = new Set<string>();
    for (const userId of members) {
      // An operator key sees every attribute the SDK saw, the account's traits included.
      const response = await post(
        '/v1/decide?keys=team_dashboard&keys=search_ranking&includeIdentity=true',
        { userId },
        admin,
      );
      expect(response.status).toBe(200);
      expectValid('decide', 200, response.body);
      const [dashboard, ranking] = response.body as unknown as Json[];
      team.add(String(dashboard?.variationKey));
      search.add(String(ranking?.variationKey));
      expect(dashboard?.identity).toMatchObject({ accountId: account, bucketingId: account });
      expect(ranking?.identity).toMatchObject({ accountId: account, bucketingId: userId });
      expect(dashboard?.userContext).toMatchObject({ attributes: { account_plan: 'enterprise' } });
    }
    expect(team.size).toBe(1);
    expect(search.size).toBeGreaterThan(1);
  });
});

describe('Agent compatibility', () => {
  it("answers one key with exactly Agent's object, and Crosswalk's identity block only when an operator asks", async () => {
    const body = { userId: `stranger-${run}`, userAttributes: { high_value_customers: true } };
    const plain = await post('/v1/decide?keys=free_shipping_banner', body);
    expect(plain.status).toBe(200);
    expectValid('decide', 200, plain.body);
    expect(plain.body).toEqual({
      variationKey: 'on',
      enabled: true,
      ruleKey: 'high_value_customers_rule',
      flagKey: 'free_shipping_banner',
      userContext: { userId: `stranger-${run}`, attributes: { high_value_customers: true } },
      reasons: [],
      variables: { message: 'Free shipping on every order' },
      isEveryoneElseVariation: false,
    });
    // A client key is never told who anyone is, even when it asks.
    const client = await post('/v1/decide?keys=free_shipping_banner&includeIdentity=true', body);
    expect(client.body).toEqual(plain.body);
    const asked = await post('/v1/decide?keys=free_shipping_banner&includeIdentity=true', body, admin);
    expect(asked.body).toEqual({
      ...plain.body,
      identity: {
        canonicalId: `stranger-${run}`,
        userId: `stranger-${run}`,
        matchedBy: null,
        accountId: null,
        bucketingId: `stranger-${run}`,
        source: 'request',
      },
    });
  });

  it('answers an unknown flag key as the SDK does', async () => {
    const response = await post('/v1/decide?keys=nope', { userId: 'u' });
    expect(response.status).toBe(200);
    expectValid('decide', 200, response.body);
    expect(response.body).toMatchObject({ flagKey: 'nope', enabled: false, variationKey: '', ruleKey: '' });
  });

  it('answers an unknown event key as Agent does, sending nothing', async () => {
    const response = await post('/v1/track?eventKey=nope', { userId: 'u' });
    expect(response.status).toBe(200);
    await settled();
    expect(response.body).toEqual({
      userId: 'u',
      eventKey: 'nope',
      error: 'event with key "nope" not found',
    });
    expect(events()).toHaveLength(0);
  });

  it('serves the OptimizelyConfig and the datafile', async () => {
    const config = await fetch(`${server!.url}/v1/config`, { headers: auth });
    expect(config.status).toBe(200);
    const configBody = await config.json();
    expectValid('getConfig', 200, configBody);
    expect(Object.keys((configBody as { featuresMap: Json }).featuresMap)).toContain('team_dashboard');
    const datafile = await fetch(`${server!.url}/v1/datafile`, { headers: auth });
    expect(await datafile.json()).toEqual(JSON.parse(sampleDatafile()));
  });

  it('answers 403 for an SDK key whose datafile cannot be had', async () => {
    const response = await post(
      '/v1/decide',
      { userId: 'u' },
      { ...auth, 'x-optimizely-sdk-key': `missing${run}` },
    );
    expect(response.status).toBe(403);
    expectValid('decide', 403, response.body);
    expect(response.body).toEqual({
      error: 'unable to fetch fresh datafile (consider rechecking SDK key), status code: 403 Forbidden',
    });
    expect(response.headers.get('x-crosswalk-error-detail')).toMatch(/No datafile is available for SDK key/);
    // As in Agent, the SDK key is checked before the body: a bad body for an unknown project is a 403.
    const badBody = await fetch(`${server!.url}/v1/decide`, {
      method: 'POST',
      headers: { ...auth, 'x-optimizely-sdk-key': `missing${run}` },
      body: '{"userId": ',
    });
    expect(badBody.status).toBe(403);
  });
});

describe('bad input', () => {
  const cases: [string, string, unknown, Record<string, string>, number, RegExp][] = [
    ['missing auth', '/v1/decide', { userId: 'u' }, { 'content-type': 'application/json' }, 401, /API key/],
    [
      'wrong API key',
      '/v1/decide',
      { userId: 'u' },
      { ...auth, 'x-api-key': 'nope' },
      401,
      /Invalid API key/,
    ],
    ['a non-string userId', '/v1/decide', { userId: 42 }, auth, 400, /^error parsing request body: userId: /],
    [
      'an object attribute',
      '/v1/decide',
      { userId: 'u', userAttributes: { plan: { a: 1 } } },
      auth,
      400,
      /userAttributes\.plan/,
    ],
    [
      'an unknown decide option',
      '/v1/decide',
      { userId: 'u', decideOptions: ['SHOUT'] },
      auth,
      400,
      /^invalid option: SHOUT$/,
    ],
    [
      'no identifier at all',
      '/v1/decide',
      { userAttributes: {} },
      auth,
      400,
      /^missing "userId" in request payload$/,
    ],
    [
      'a reserved attribute',
      '/v1/decide',
      { userId: 'u', userAttributes: { $opt_bucketing_id: 'x' } },
      auth,
      400,
      /\$opt_bucketing_id/,
    ],
    [
      'too many identifiers',
      '/v1/decide',
      { identifiers: { a: '1', b: '2', c: '3', d: '4' } },
      auth,
      400,
      /identifiers: 4 given, at most 3/,
    ],
    [
      'too many keys',
      '/v1/decide?keys=a&keys=b&keys=c&keys=d&keys=e&keys=f',
      { userId: 'u' },
      auth,
      400,
      /keys: 6 given, at most 5/,
    ],
    [
      'a body over the cap',
      '/v1/decide',
      { userId: 'u', userAttributes: { plan: 'x'.repeat(5000) } },
      auth,
      413,
      /body: larger than 4096 bytes \(MAX_BODY_BYTES\)/,
    ],
    [
      'a missing eventKey',
      '/v1/track',
      { userId: 'u' },
      auth,
      400,
      /^missing required path parameter: eventKey$/,
    ],
    ['an empty body (no user)', '/v1/decide', '', auth, 400, /^missing "userId" in request payload$/],
    ['non-JSON', '/v1/decide', '{"userId": ', auth, 400, /^error parsing request body$/],
  ];

  it.each(cases)('refuses %s', async (_name, path, body, headers, status, message) => {
    const response = await fetch(`${server!.url}${path}`, {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    expect(response.status).toBe(status);
    const answer = (await response.json()) as Json;
    // Agent's error shape exactly: one `error` string; Crosswalk's error name in a header.
    expect(Object.keys(answer)).toEqual(['error']);
    expect(String(answer.error)).toMatch(message);
    expect(response.headers.get('x-crosswalk-error')).toMatch(/Error$/);
    await settled();
    expect(events()).toHaveLength(0);
  });
});

describe('DynamoDB requests per decide', () => {
  it('makes one request on an identity-cache miss (two for an account new to the container) and none when warm', async () => {
    const userId = `counted-${run}`;
    await segment([call('identify', { userId, traits: { plan: 'pro' } })]);
    const deps = agentApiDependencies(server!.config);
    const decide = createAgentApiHandler(deps);
    // Reads only: the decision events' outbox write is counted in its own test below.
    const requests = async (query: string, body: Json) => {
      const { result, requests } = await countDynamoDbRequests(() =>
        callHandler(decide, {
          method: 'POST',
          url: `/v1/decide${query}`,
          headers: auth,
          body: { ...body, decideOptions: ['DISABLE_DECISION_EVENT'] },
        }),
      );
      expect(result.statusCode).toBe(200);
      return requests;
    };
    // A first decide warms the project; then the identity cache is emptied for the count.
    await requests('?keys=checkout_redesign', { userId });
    (deps.decisions.identities as CachedIdentityReader).clear();
    expect(await requests('?keys=checkout_redesign', { userId })).toBe(1);
    expect(await requests('', { userId, identifiers: { anonymous_id: `other-${run}` } })).toBe(1);
    expect(await requests('', { userId, identifiers: { anonymous_id: `other-${run}` } })).toBe(0);
    expect(await requests('?keys=checkout_redesign', { userId })).toBe(0);

    // An account member: one read once the account's traits are in the container's account
    // cache; the very first member of an account seen by a container adds one GetItem.
    const members = [`counted-a-${run}`, `counted-b-${run}`];
    await segment(
      members.map((id) =>
        call('group', { userId: id, groupId: `counted-acct-${run}`, traits: { plan: 'team' } }),
      ),
    );
    expect(await requests('?keys=team_dashboard', { userId: members[0] })).toBe(2);
    expect(await requests('?keys=team_dashboard', { userId: members[1] })).toBe(1);
  });

  it('adds one write when the decision produces events: the outbox item the relay sends', async () => {
    const userId = `counted-events-${run}`;
    await segment([call('identify', { userId, traits: { plan: 'pro' } })]);
    const deps = agentApiDependencies(server!.config);
    const decide = createAgentApiHandler(deps);
    const requests = async (body: Json) => {
      const { result, requests } = await countDynamoDbRequests(() =>
        callHandler(decide, {
          method: 'POST',
          url: '/v1/decide?keys=checkout_redesign',
          headers: auth,
          body,
        }),
      );
      expect(result.statusCode).toBe(200);
      return requests;
    };
    await requests({ userId });
    expect(await requests({ userId })).toBe(1);
    expect(await requests({ userId, decideOptions: ['DISABLE_DECISION_EVENT'] })).toBe(0);
  });
});

describe('Optimizely datafile webhook', () => {
  const sdkKey = `hooked${run}`;
  const webhookBody = (revision: number) =>
    JSON.stringify({
      project_id: 21472780144,
      timestamp: 1795588800,
      event: 'project.datafile_updated',
      data: {
        revision,
        cdn_url: `https://cdn.optimizely.com/datafiles/${sdkKey}.json`,
        environment: 'Production',
      },
    });
  const sign = (body: string) => `sha1=${createHmac('sha1', WEBHOOK_SECRET).update(body).digest('hex')}`;

  it('stores the new datafile, which then serves that SDK key', async () => {
    fake!.optimizely.datafiles.set(
      sdkKey,
      JSON.stringify({ ...JSON.parse(sampleDatafile()), revision: '18', sdkKey }),
    );
    const body = webhookBody(18);
    const response = await fetch(`${server!.url}/webhooks/optimizely`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature': sign(body) },
      body,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ sdkKey, revision: 18 });
    const stored = await new DynamoDbDatafileStore({
      client: table!.client,
      tableName: table!.tableName,
    }).get(sdkKey);
    expect(stored?.revision).toBe(18);
    const config = await fetch(`${server!.url}/v1/config`, {
      headers: { ...auth, 'x-optimizely-sdk-key': sdkKey },
    });
    expect(((await config.json()) as Json).revision).toBe('18');
  });

  it('refuses a bad signature with 401', async () => {
    const body = webhookBody(19);
    const response = await fetch(`${server!.url}/webhooks/optimizely`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature': sign(`${body} `) },
      body,
    });
    expect(response.status).toBe(401);
  });
});
