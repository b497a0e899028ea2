/**
 * Client keys learn nothing about anyone (issue 19), tried as an attacker holding only a client key
 * would, through the real local server: no identity oracle (finding 1), no profile poisoning (2),
 * no email- or phone-shaped id sent to Optimizely (3), userId held to the identifier rules and every
 * body to a nesting cap (5), and an operator who only looks changes nobody (6).
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sendSegment } from '../../scripts/demo/client';
import { SAMPLE_DATAFILE } from '../../scripts/local/local-stack';
import { startTestApp, type TestApp } from '../support/app';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../support/optimizely';

const CLIENT = 'client-keys-client';
const ADMIN = 'client-keys-operator';
const run = randomUUID().slice(0, 8);
/** A person on the free plan: the Pro-only experiment (checkout_redesign_test) is not for them. */
const VICTIM = { userId: `uid-v-${run}`, email: `victim.${run}@example.com`, anonymousId: `anon-v-${run}` };
/** A person on the Pro plan, known by email, user id and anonymous id. */
const PRO = { userId: `uid-p-${run}`, email: `pro.${run}@example.com`, anonymousId: `anon-p-${run}` };
const CHECKOUT_TEST_ID = '21471100001';
const ONE_PAGE_ID = '21471600002';

let table: TestTable | undefined;
let optimizely: TestOptimizely | undefined;
let app: TestApp | undefined;

beforeAll(async () => {
  [table, optimizely] = await Promise.all([createTestTable('client-keys'), startTestOptimizely()]);
  app = await startTestApp({
    TABLE_NAME: table.tableName,
    API_KEYS: CLIENT,
    ADMIN_API_KEYS: ADMIN,
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE,
    OPTIMIZELY_EVENT_ENDPOINT: optimizely.eventEndpoint,
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: optimizely.datafileUrlTemplate,
    ACCOUNT_BUCKETED_FLAGS: 'team_dashboard',
    USER_PROFILE_SERVICE: 'dynamodb',
    ENABLE_OVERRIDES: 'true',
  });
  const at = new Date().toISOString();
  const identify = (n: number, person: typeof VICTIM, plan: string) => ({
    type: 'identify',
    messageId: `client-keys-${run}-${n}`,
    timestamp: at,
    userId: person.userId,
    anonymousId: person.anonymousId,
    traits: { email: person.email, plan, country: 'DE' },
  });
  const seeded = await sendSegment({ url: app.url }, [identify(1, VICTIM, 'free'), identify(2, PRO, 'pro')]);
  expect(seeded.body).toMatchObject({ accepted: 2 });
  optimizely.personal(VICTIM.email, PRO.email);
});

afterAll(async () => {
  try {
    await app?.server.idle();
    optimizely?.assertNoPersonalData();
  } finally {
    await app?.close();
    await optimizely?.close();
    await table?.drop();
  }
});

interface Sent {
  status: number;
  headers: Record<string, string>;
  text: string;
  body: unknown;
}

async function post(path: string, body: unknown, key: string | null = CLIENT): Promise<Sent> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': 'fixed' };
  if (key) headers['x-api-key'] = key;
  const response = await fetch(`${app!.url}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, headers: Object.fromEntries(response.headers), text, body: parsed };
}

interface Decision {
  variationKey: string;
  ruleKey: string;
  flagKey: string;
  enabled: boolean;
  userContext: { userId: string; attributes: Record<string, unknown> };
  reasons: string[];
  identity?: unknown;
}

/**
 * The answer without what may depend on the person (the variation fields) and without what differs
 * between any two requests (a batch's clock readings and request ids).
 */
const DROPPED = ['variationKey', 'enabled', 'ruleKey', 'variables', 'isEveryoneElseVariation'];
const PER_REQUEST = ['startedAt', 'endedAt', 'requestID'];
function withoutVariations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutVariations);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (DROPPED.includes(key) || PER_REQUEST.includes(key)) continue;
    out[key] = withoutVariations(field);
  }
  return out;
}

const transport = new Set(['date', 'content-length', 'connection', 'keep-alive']);
const headersOf = (sent: Sent) =>
  Object.fromEntries(Object.entries(sent.headers).filter(([name]) => !transport.has(name)));

describe('finding 1: no identity oracle for client keys', () => {
  it('answers a client key with no identity block and echoes the email it sent, never the person', async () => {
    for (const path of ['/v1/decide', '/v1/decide?includeIdentity=true']) {
      const known = await post(path, {
        identifiers: { email: PRO.email },
        decideOptions: ['INCLUDE_REASONS', 'DISABLE_DECISION_EVENT'],
      });
      expect(known.status).toBe(200);
      const decisions = known.body as Decision[];
      expect(decisions.length).toBeGreaterThan(0);
      for (const decision of decisions) {
        expect(decision.identity).toBeUndefined();
        expect(decision.userContext.userId).toBe(PRO.email);
        // Reasons never tell how a stored trait or an audience evaluated.
        expect(decision.reasons.join('\n')).not.toMatch(/audience|evaluated|profile|variation/i);
      }
      expect(known.text).not.toContain(PRO.anonymousId);
      expect(known.text).not.toContain(PRO.userId);
      expect(known.text).not.toContain('cw1_');
    }
  });

  it('makes a known and an unknown email indistinguishable except for the variations (decide, track, batch)', async () => {
    const unknown = `nobody-${run}@example.com`;
    const requests = (email: string) =>
      [
        ['/v1/decide?includeIdentity=true', { identifiers: { email }, decideOptions: ['INCLUDE_REASONS'] }],
        ['/v1/track?eventKey=purchase', { identifiers: { email } }],
        [
          '/v1/batch',
          {
            operations: [
              {
                method: 'POST',
                url: '/v1/decide',
                operationID: '1',
                body: {
                  identifiers: { email },
                  decideOptions: ['DISABLE_DECISION_EVENT', 'INCLUDE_REASONS'],
                },
              },
            ],
          },
        ],
      ] as const;
    const knownEmail = PRO.email;
    for (const [i, [path, body]] of requests(knownEmail).entries()) {
      const known = await post(path, body);
      const other = await post(requests(unknown)[i]![0], requests(unknown)[i]![1]);
      expect(known.status).toBe(other.status);
      expect(headersOf(known)).toEqual(headersOf(other));
      // The only difference left is the email each request sent itself.
      const normalise = (sent: Sent, email: string) =>
        JSON.parse(sent.text.split(email).join('<sent email>')) as unknown;
      expect(withoutVariations(normalise(known, knownEmail))).toEqual(
        withoutVariations(normalise(other, unknown)),
      );
    }
  });

  it('keeps the identity block and the reasons for operator keys', async () => {
    const answer = await post(
      '/v1/decide?keys=checkout_redesign',
      { identifiers: { email: PRO.email }, decideOptions: ['INCLUDE_REASONS', 'DISABLE_DECISION_EVENT'] },
      ADMIN,
    );
    const decision = answer.body as Decision & { identity: { canonicalId: string; source: string } };
    expect(decision.identity).toMatchObject({ canonicalId: PRO.anonymousId, source: 'cache' });
    expect(decision.reasons.join('\n')).toMatch(/checkout_redesign_test/);
  });
});

async function savedProfile(userId: string): Promise<Record<string, { variation_id: string }>> {
  const answer = await post('/v1/lookup', { userId }, ADMIN);
  expect(answer.status).toBe(200);
  return (answer.body as { experimentBucketMap: Record<string, { variation_id: string }> })
    .experimentBucketMap;
}

describe('finding 2: no caller writes another person’s future', () => {
  it('does not pin a free-plan person into the Pro-only experiment through made-up attributes', async () => {
    // The attack: a client key decides for the victim's email, claiming plan=pro.
    const attack = await post('/v1/decide?keys=checkout_redesign', {
      identifiers: { email: VICTIM.email },
      userAttributes: { plan: 'pro' },
      decideOptions: ['DISABLE_DECISION_EVENT'],
    });
    expect((attack.body as Decision).ruleKey).toBe('checkout_redesign_test');
    // Nothing was saved for the victim, and their own next decide is the datafile's answer for them.
    expect(await savedProfile(VICTIM.userId)).toEqual({});
    const own = await post('/v1/decide?keys=checkout_redesign', {
      userId: VICTIM.userId,
      decideOptions: ['DISABLE_DECISION_EVENT'],
    });
    expect((own.body as Decision).ruleKey).not.toBe('checkout_redesign_test');
  });

  it('does not honour a saved entry for an experiment the person no longer qualifies for', async () => {
    // A saved entry for the Pro-only experiment (as older versions could write one).
    const saved = await post(
      '/v1/save',
      { userId: VICTIM.userId, experimentBucketMap: { [CHECKOUT_TEST_ID]: { variation_id: ONE_PAGE_ID } } },
      ADMIN,
    );
    expect(saved.status).toBe(200);
    const client = await post('/v1/decide?keys=checkout_redesign', {
      identifiers: { email: VICTIM.email },
      decideOptions: ['DISABLE_DECISION_EVENT'],
    });
    expect((client.body as Decision).ruleKey).not.toBe('checkout_redesign_test');
    // The entry is withheld, not destroyed; operator keys keep Agent's behaviour.
    expect(await savedProfile(VICTIM.userId)).toEqual({ [CHECKOUT_TEST_ID]: { variation_id: ONE_PAGE_ID } });
    const operator = await post(
      '/v1/decide?keys=checkout_redesign',
      { userId: VICTIM.userId, decideOptions: ['DISABLE_DECISION_EVENT'] },
      ADMIN,
    );
    expect(operator.body).toMatchObject({ ruleKey: 'checkout_redesign_test', variationKey: 'one_page' });
  });

  it('still saves and honours sticky bucketing for decisions nothing from the caller shaped', async () => {
    const first = await post('/v1/decide?keys=checkout_redesign', {
      identifiers: { email: PRO.email },
      decideOptions: ['DISABLE_DECISION_EVENT'],
    });
    const decision = first.body as Decision;
    expect(decision.ruleKey).toBe('checkout_redesign_test');
    const profile = await savedProfile(PRO.userId);
    expect(profile[CHECKOUT_TEST_ID]).toEqual({ variation_id: expect.any(String) });
    // An entry of an experiment everyone qualifies for is honoured for a client key, either way.
    for (const [variationId, variationKey] of [
      ['21471600005', 'keyword'],
      ['21471600006', 'semantic'],
    ]) {
      await post(
        '/v1/save',
        { userId: PRO.userId, experimentBucketMap: { '21471100003': { variation_id: variationId } } },
        ADMIN,
      );
      const sticky = await post('/v1/decide?keys=search_ranking', {
        identifiers: { email: PRO.email },
        decideOptions: ['DISABLE_DECISION_EVENT'],
      });
      expect(sticky.body).toMatchObject({ ruleKey: 'search_ranking_test', variationKey });
    }
  });
});

describe('finding 3: nothing shaped like an email or a phone number reaches Optimizely', () => {
  it('digests an email- or phone-shaped userId before it becomes the visitor id or a profile key', async () => {
    const eve = `Eve.Person.${run}@Example.com`;
    const phone = '+49 170 5550123';
    optimizely!.personal(eve, eve.toLowerCase(), phone);
    for (const userId of [eve, phone]) {
      const answer = await post('/v1/decide?keys=search_ranking', { userId });
      expect(answer.status).toBe(200);
      expect((answer.body as Decision).userContext.userId).toBe(userId);
      const operator = await post('/v1/decide?keys=search_ranking&includeIdentity=true', { userId }, ADMIN);
      expect((operator.body as { identity: { canonicalId: string } }).identity.canonicalId).toMatch(/^cw1_/);
    }
    // A Segment identify whose userId is an email: its profile's id is a digest too.
    const at = new Date().toISOString();
    const mailUser = `mail.user.${run}@example.org`;
    optimizely!.personal(mailUser);
    await sendSegment(
      { url: app!.url },
      { type: 'identify', messageId: `mail-${run}`, timestamp: at, userId: mailUser },
    );
    await post('/v1/decide?keys=search_ranking', { identifiers: { user_id: mailUser } });
    const known = await post(
      '/v1/decide?keys=search_ranking&includeIdentity=true',
      { userId: mailUser },
      ADMIN,
    );
    expect((known.body as { identity: { canonicalId: string; source: string } }).identity).toMatchObject({
      canonicalId: expect.stringMatching(/^cw1_/),
      source: 'cache',
    });
    await app!.server.idle();
    expect(optimizely!.optimizely.batches.length).toBeGreaterThan(0);
    // No saved profile is keyed by any of them.
    const items = await table!.client.send(new ScanCommand({ TableName: table!.tableName }));
    const upsKeys = (items.Items ?? []).map((i) => i.pk?.S ?? '').filter((pk) => pk.startsWith('UPS#'));
    expect(upsKeys.length).toBeGreaterThan(0);
    expect(upsKeys.filter((pk) => /@|\+49/.test(pk))).toEqual([]);
  });
});

describe('finding 5: userId follows the identifier rules; every body has a nesting cap', () => {
  const long = 'x'.repeat(10_000);
  it.each([
    ['/v1/decide', { userId: long }, /userId is longer than 1024 bytes \(MAX_IDENTIFIER_BYTES\)/],
    ['/v1/track?eventKey=purchase', { userId: long }, /userId is longer than 1024 bytes/],
    ['/v1/activate?type=experiment', { userId: long }, /userId is longer than 1024 bytes/],
    ['/v1/override', { userId: long, experimentKey: 'x', variationKey: 'y' }, /userId is longer than 1024/],
    ['/v1/lookup', { userId: long }, /userId is longer than 1024 bytes/],
    ['/v1/save', { userId: long }, /userId is longer than 1024 bytes/],
    ['/v1/decide', { userId: 'lone\ud800surrogate' }, /userId is not well-formed Unicode/],
    ['/v1/decide', { userId: `${PRO.userId}\u0000` }, /userId contains a control character/],
    ['/v1/track?eventKey=purchase', { userId: `a\u0001email\u0000b` }, /userId contains a control character/],
    ['/v1/decide', { identifiers: { anonymous_id: 'tab\there' } }, /value contains a control character/],
  ])('answers %s with a 400 naming the rule (%#)', async (path, body, rule) => {
    const answer = await post(path, body, ADMIN);
    expect(answer.status).toBe(400);
    expect((answer.body as { error: string }).error).toMatch(rule);
  });

  it('refuses a userId that breaks a rule inside a batch, per operation, with a 400', async () => {
    const answer = await post('/v1/batch', {
      operations: Array.from({ length: 3 }, (_, i) => ({
        method: 'POST',
        url: '/v1/decide',
        operationID: String(i),
        body: { userId: long },
      })),
    });
    expect(answer.status).toBe(200);
    const items = (answer.body as { response: { status: number; body: { error: string } }[] }).response;
    expect(items.map((r) => r.status)).toEqual([400, 400, 400]);
    expect(items[0]!.body.error).toMatch(/MAX_IDENTIFIER_BYTES/);
  });

  const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  it.each([
    ['/v1/decide', `{"userId":"u","userAttributes":{"a":${deep(30_000)}}}`],
    ['/v1/batch', `{"operations":[{"method":"POST","url":"/v1/decide","body":${deep(400_000)}}]}`],
    ['/v1/identities/lookup', `{"type":"email","value":"x","extra":${deep(30_000)}}`],
    ['/webhooks/segment', `{"type":"track","userId":"u","event":"e","properties":${deep(10_000)}}`],
    ['/webhooks/optimizely', `{"event":"project.datafile_updated","data":${deep(30_000)}}`],
  ])('answers a body nested far too deep on %s with a 400, never a 5xx', async (path, body) => {
    const answer = await post(path, body, ADMIN);
    expect(answer.status).toBe(400);
    // Agent's wording in the body where Agent has one; the rule is in the detail header then.
    expect(`${answer.text} ${answer.headers['x-crosswalk-error-detail'] ?? ''}`).toMatch(
      /nests deeper than 32 levels/,
    );
  });
});

describe('finding 6: looking is read-only', () => {
  it('READ_ONLY decides as the person would be decided and writes no profile and no event', async () => {
    const typo = `typo-${run}@example.com`;
    const before = optimizely!.optimizely.batches.length;
    const looked = await post(
      '/v1/decide?includeIdentity=true',
      { identifiers: { email: typo }, decideOptions: ['READ_ONLY', 'INCLUDE_REASONS'] },
      ADMIN,
    );
    expect(looked.status).toBe(200);
    await app!.server.idle();
    expect(optimizely!.optimizely.batches.length).toBe(before);
    const digest = (looked.body as { identity: { canonicalId: string } }[])[0]!.identity.canonicalId;
    const items = await table!.client.send(new ScanCommand({ TableName: table!.tableName }));
    expect((items.Items ?? []).filter((i) => (i.pk?.S ?? '').includes(digest))).toEqual([]);
    // A saved entry is still honoured while looking (the person's own answer), and left as it was.
    const pro = await post(
      '/v1/decide?keys=checkout_redesign',
      { userId: PRO.userId, decideOptions: ['READ_ONLY'] },
      ADMIN,
    );
    expect(pro.body).toMatchObject({ ruleKey: 'checkout_redesign_test' });
  });

  it('honours IGNORE_USER_PROFILE_SERVICE as Agent does: nothing looked up, nothing saved', async () => {
    const fresh = `fresh-${run}`;
    await post('/v1/decide', {
      userId: fresh,
      decideOptions: ['IGNORE_USER_PROFILE_SERVICE', 'DISABLE_DECISION_EVENT'],
    });
    expect(await savedProfile(fresh)).toEqual({});
  });

  it('keeps READ_ONLY for operator keys', async () => {
    const answer = await post('/v1/decide', { userId: 'someone', decideOptions: ['READ_ONLY'] });
    expect(answer.status).toBe(403);
    expect((answer.body as { error: string }).error).toMatch(/READ_ONLY decide option needs an operator key/);
  });
});
