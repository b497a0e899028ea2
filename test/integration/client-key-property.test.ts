/**
 * The client-key contract as a property (issue 19): for random client-key requests (decide, track,
 * activate, batch; any identifiers, keys, options, attributes, includeIdentity), the answer for a
 * person Crosswalk knows and the answer for the very same request about someone it does not know
 * are byte for byte the same (status, headers, body) once the variation fields are left out. Two
 * deployments of identical configuration answer: one whose table holds a seeded graph, one empty.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { sendSegment } from '../../scripts/demo/client';
import { SAMPLE_DATAFILE } from '../../scripts/local/local-stack';
import { startTestApp, type TestApp } from '../support/app';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../support/optimizely';

const CLIENT = 'property-client-key';
const PEOPLE = [
  {
    userId: 'prop-ada',
    anonymousId: 'prop-anon-ada',
    email: 'ada@example.com',
    plan: 'pro',
    account: 'acme',
  },
  { userId: 'prop-bo', anonymousId: 'prop-anon-bo', email: 'bo@example.com', plan: 'free', account: null },
  { userId: 'prop-cy', anonymousId: 'prop-anon-cy', email: 'cy@example.com', plan: 'pro', account: 'acme' },
] as const;

let tables: TestTable[] = [];
let optimizely: TestOptimizely | undefined;
let known: TestApp | undefined;
let unknown: TestApp | undefined;

beforeAll(async () => {
  [tables, optimizely] = await Promise.all([
    Promise.all([createTestTable('property-known'), createTestTable('property-unknown')]),
    startTestOptimizely(),
  ]);
  const variables = (tableName: string) => ({
    TABLE_NAME: tableName,
    API_KEYS: CLIENT,
    ADMIN_API_KEYS: 'property-operator-key',
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE,
    OPTIMIZELY_EVENT_ENDPOINT: optimizely!.eventEndpoint,
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: optimizely!.datafileUrlTemplate,
    ACCOUNT_BUCKETED_FLAGS: 'team_dashboard',
    USER_PROFILE_SERVICE: 'dynamodb',
  });
  [known, unknown] = await Promise.all([
    startTestApp(variables(tables[0]!.tableName)),
    startTestApp(variables(tables[1]!.tableName)),
  ]);
  const at = new Date().toISOString();
  const events = PEOPLE.flatMap((p, i) => [
    {
      type: 'identify',
      messageId: `property-${i}`,
      timestamp: at,
      userId: p.userId,
      anonymousId: p.anonymousId,
      traits: { email: p.email, plan: p.plan, country: 'DE', high_value_customers: p.plan === 'pro' },
    },
    ...(p.account
      ? [
          {
            type: 'group',
            messageId: `property-group-${i}`,
            timestamp: at,
            userId: p.userId,
            groupId: p.account,
            traits: { plan: 'enterprise' },
          },
        ]
      : []),
  ]);
  expect((await sendSegment({ url: known.url }, events)).body).toMatchObject({ rejected: [] });
  optimizely.personal(...PEOPLE.map((p) => p.email));
});

afterAll(async () => {
  try {
    await Promise.all([known?.server.idle(), unknown?.server.idle()]);
    optimizely?.assertNoPersonalData();
  } finally {
    await Promise.all([known?.close(), unknown?.close()]);
    await optimizely?.close();
    await Promise.all(tables.map((t) => t.drop()));
  }
});

/** The variation fields: decide's, and activate's (a feature's `experimentKey` is the rule it landed in). */
const VARIATION_FIELDS = new Set([
  'variationKey',
  'enabled',
  'ruleKey',
  'variables',
  'isEveryoneElseVariation',
  'experimentKey',
]);
/** What differs between any two requests, known or not: a batch's clock readings and request ids. */
const PER_REQUEST_FIELDS = new Set(['startedAt', 'endedAt', 'requestID']);
const TRANSPORT_HEADERS = new Set(['date', 'content-length', 'connection', 'keep-alive']);

function withoutVariations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutVariations);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !VARIATION_FIELDS.has(key) && !PER_REQUEST_FIELDS.has(key))
      .map(([key, field]) => [key, withoutVariations(field)]),
  );
}

interface Request {
  path: string;
  body: unknown;
}

async function send(app: TestApp, request: Request) {
  const response = await fetch(`${app.url}${request.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': CLIENT, 'x-request-id': 'property' },
    body: JSON.stringify(request.body),
  });
  const text = await response.text();
  const headers = Object.fromEntries([...response.headers].filter(([name]) => !TRANSPORT_HEADERS.has(name)));
  let body: unknown = text;
  try {
    body = withoutVariations(JSON.parse(text));
  } catch {
    // not JSON: compared as text
  }
  return { status: response.status, headers, body };
}

const person = fc.constantFrom(...PEOPLE);
const who = person.chain((p) =>
  fc.oneof(
    fc.constant({ userId: p.userId }),
    fc
      .subarray(
        [
          ['email', p.email],
          ['anonymous_id', p.anonymousId],
          ['user_id', p.userId],
        ] as const,
        { minLength: 1 },
      )
      .map((pairs) => ({ identifiers: Object.fromEntries(pairs) })),
  ),
);
const attributes = fc.dictionary(
  fc.constantFrom('plan', 'country', 'high_value_customers', 'undeclared'),
  fc.oneof(fc.constantFrom('pro', 'free', 'FR'), fc.boolean(), fc.constant(null)),
  { maxKeys: 3 },
);
const keys = fc.subarray([
  'checkout_redesign',
  'team_dashboard',
  'search_ranking',
  'free_shipping_banner',
  'nope',
]);
const options = fc.subarray([
  'INCLUDE_REASONS',
  'DISABLE_DECISION_EVENT',
  'EXCLUDE_VARIABLES',
  'IGNORE_USER_PROFILE_SERVICE',
]);
const forced = fc.subarray([{ flagKey: 'search_ranking', variationKey: 'semantic' }]);

const decide = fc
  .record({ who, attributes, keys, options, forced, includeIdentity: fc.boolean() })
  .map(({ who, attributes, keys, options, forced, includeIdentity }) => ({
    path: `/v1/decide?${[...keys.map((k) => `keys=${k}`), ...(includeIdentity ? ['includeIdentity=true'] : [])].join('&')}`,
    body: { ...who, userAttributes: attributes, decideOptions: options, forcedDecisions: forced },
  }));
const track = fc
  .record({
    who,
    attributes,
    eventKey: fc.constantFrom('purchase', 'dashboard_viewed', 'nope'),
    includeIdentity: fc.boolean(),
  })
  .map(({ who, attributes, eventKey, includeIdentity }) => ({
    path: `/v1/track?eventKey=${eventKey}${includeIdentity ? '&includeIdentity=true' : ''}`,
    body: { ...who, userAttributes: attributes, eventTags: { revenue: 100 } },
  }));
const activate = fc
  .record({ who, attributes, type: fc.constantFrom('experiment', 'feature') })
  .map(({ who, attributes, type }) => ({
    path: `/v1/activate?type=${type}&disableTracking=true`,
    body: { ...who, userAttributes: attributes },
  }));
const batch = fc.array(fc.oneof(decide, track), { minLength: 1, maxLength: 3 }).map((operations) => ({
  path: '/v1/batch',
  body: {
    operations: operations.map((op, i) => {
      const [url, query] = op.path.split('?');
      const params = Object.fromEntries(new URLSearchParams(query ?? ''));
      return { method: 'POST', url, operationID: String(i), body: op.body, params };
    }),
  },
}));

describe('the client-key contract', () => {
  it('answers a known and an unknown person identically but for the variations, headers included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(decide, track, activate, batch), async (request: Request) => {
        const [fromKnown, fromUnknown] = await Promise.all([send(known!, request), send(unknown!, request)]);
        expect(fromKnown).toEqual(fromUnknown);
      }),
      { numRuns: 60, seed: 19 },
    );
  });

  it('compares answers that can differ: the seeded graph does change some variations', async () => {
    const request = {
      path: '/v1/decide?keys=checkout_redesign',
      body: { userId: 'prop-ada', decideOptions: ['DISABLE_DECISION_EVENT'] },
    };
    const raw = async (app: TestApp) =>
      (await (
        await fetch(`${app.url}${request.path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': CLIENT },
          body: JSON.stringify(request.body),
        })
      ).json()) as { ruleKey: string };
    // Ada is on the pro plan in the seeded graph only: the Pro-only A/B test is hers there alone.
    expect((await raw(known!)).ruleKey).toBe('checkout_redesign_test');
    expect((await raw(unknown!)).ruleKey).not.toBe('checkout_redesign_test');
  });
});
