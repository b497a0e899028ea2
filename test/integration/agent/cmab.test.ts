/**
 * CMAB (contextual multi-armed bandit) rules, through the real local server, on Agent's acceptance
 * datafile (flag `cmab_flag`, rule `cmab-rule_1`) extended with two more CMAB attributes (one that
 * looks personal), against the loopback prediction stand-in: which flags ask for a prediction, what
 * they send, what a failed prediction answers, and how CMAB decisions meet the profile service,
 * overrides, events, client keys and batches.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../../support/app';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../../support/optimizely';

const SDK_KEY = 'KZbunNn9bVfBWLpZPq2XC4';
const CLIENT_KEY = 'cmab-client';
const ADMIN_KEY = 'cmab-admin';
const RULE_ID = '9300002877087';
const ATTR_1 = '16921322086';
const PLAN = 'attr-plan';
const EMAIL = 'attr-email';
const FEATURE_2_TEST = '16910084756';
const run = randomUUID().slice(0, 8);

/** The A/B test added after the CMAB rule of `cmab_flag`: everyone, one variation. */
const AFTER_CMAB = { id: '9300009000001', key: 'after-cmab', variation: '9300009000002' };

/**
 * Agent's datafile, with `plan` and `email` declared and added to the CMAB rule's attributes, and
 * an A/B test after the CMAB rule of `cmab_flag` (someone outside the CMAB rule's audience is
 * bucketed into it).
 */
function cmabDatafile(): string {
  const datafile = JSON.parse(
    readFileSync(
      resolve(import.meta.dirname, '..', '..', 'fixtures', 'agent', 'acceptance', `datafile_${SDK_KEY}.json`),
      'utf8',
    ),
  ) as {
    attributes: { id: string; key: string }[];
    experiments: Json[];
    featureFlags: { key: string; experimentIds: string[] }[];
  };
  datafile.attributes.push({ id: PLAN, key: 'plan' }, { id: EMAIL, key: 'email' });
  const rule = datafile.experiments.find((e) => e.id === RULE_ID) as { cmab: { attributeIds: string[] } };
  rule.cmab.attributeIds.push(PLAN, EMAIL);
  datafile.experiments.push({
    id: AFTER_CMAB.id,
    key: AFTER_CMAB.key,
    layerId: '9300009000003',
    status: 'Running',
    audienceIds: [],
    audienceConditions: [],
    forcedVariations: {},
    trafficAllocation: [{ entityId: AFTER_CMAB.variation, endOfRange: 10000 }],
    variations: [{ id: AFTER_CMAB.variation, key: 'after', featureEnabled: true, variables: [] }],
  });
  datafile.featureFlags.find((f) => f.key === 'cmab_flag')!.experimentIds.push(AFTER_CMAB.id);
  return JSON.stringify(datafile);
}

type Json = Record<string, unknown>;
interface Decision {
  variationKey: string;
  enabled: boolean;
  ruleKey: string;
  flagKey: string;
  reasons: string[];
  identity?: { canonicalId: string };
}

let table: TestTable;
let fake: TestOptimizely;
let app: TestApp;
const predictions = () => fake.optimizely.predictions;

beforeAll(async () => {
  [table, fake] = await Promise.all([
    createTestTable('cmab'),
    startTestOptimizely(new Map([[SDK_KEY, cmabDatafile()]])),
  ]);
  app = await startTestApp({
    TABLE_NAME: table.tableName,
    API_KEYS: CLIENT_KEY,
    ADMIN_API_KEYS: ADMIN_KEY,
    OPTIMIZELY_SDK_KEY: SDK_KEY,
    OPTIMIZELY_SDK_KEYS: SDK_KEY,
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: fake.datafileUrlTemplate,
    OPTIMIZELY_EVENT_ENDPOINT: fake.eventEndpoint,
    OPTIMIZELY_CMAB_PREDICTION_ENDPOINT: fake.predictionEndpointTemplate,
    OPTIMIZELY_CMAB_TIMEOUT_MS: '200',
    ENABLE_OVERRIDES: 'true',
    OVERRIDE_CACHE_TTL_MS: '0',
    USER_PROFILE_SERVICE: 'dynamodb',
  });
});

afterAll(async () => {
  try {
    await app?.server.idle();
    fake?.assertNoPersonalData();
  } finally {
    await app?.close();
    await fake?.close();
    await table?.drop();
  }
});

beforeEach(async () => {
  await app.server.idle();
  fake.optimizely.predictionStatus = 200;
  fake.optimizely.predictionDelayMs = 0;
});

async function post(path: string, body: unknown, key = ADMIN_KEY) {
  const response = await fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as Json & Json[] };
}

const decide = async (keys: string[], body: Json, key = ADMIN_KEY) => {
  const query = keys.map((k) => `keys=${encodeURIComponent(k)}`).join('&');
  return post(`/v1/decide${query ? `?${query}` : ''}`, body, key);
};

const hola = { attr_1: 'hola' };

describe('which flags ask for a prediction', () => {
  it('asks only for a flag with a CMAB rule, once per person while the cached prediction holds', async () => {
    const user = `plain-${run}`;
    const before = predictions().length;
    // Flags without a CMAB rule, one by one and together: no prediction.
    for (const keys of [['feature_1'], ['feature_2'], ['feature_1', 'feature_2', 'GkbzTurBWXr8EtNGZj2j6e']]) {
      expect((await decide(keys, { userId: user, userAttributes: hola })).status).toBe(200);
    }
    expect(predictions().length).toBe(before);

    // Every flag: the CMAB flag alone asks, once.
    const all = await decide([], { userId: user, userAttributes: hola });
    expect(all.body.map((d) => d.flagKey)).toContain('cmab_flag');
    expect(predictions().length).toBe(before + 1);
    const cmab = (all.body as unknown as Decision[]).find((d) => d.flagKey === 'cmab_flag')!;
    expect(cmab.ruleKey).toBe('cmab-rule_1');
    expect(['on', 'off']).toContain(cmab.variationKey);

    // The same person and CMAB attributes: the container's cached prediction, the same variation.
    const again = await decide(['cmab_flag'], { userId: user, userAttributes: hola });
    expect(again.body).toMatchObject({ ruleKey: 'cmab-rule_1', variationKey: cmab.variationKey });
    expect(predictions().length).toBe(before + 1);

    // Outside the rule's audience: the next rule (the added A/B test), and no prediction.
    const outside = await decide(['cmab_flag'], {
      userId: `outside-${run}`,
      userAttributes: { attr_1: 'adios' },
    });
    expect(outside.body).toMatchObject({ variationKey: 'after', ruleKey: AFTER_CMAB.key, enabled: true });
    expect(predictions().length).toBe(before + 1);
  });

  it('skips the cache with IGNORE_CMAB_CACHE; RESET_CMAB_CACHE, which empties it for everyone, is for operator keys', async () => {
    const user = `ignore-${run}`;
    await decide(['cmab_flag'], { userId: user, userAttributes: hola });
    const before = predictions().length;
    await decide(['cmab_flag'], { userId: user, userAttributes: hola, decideOptions: ['IGNORE_CMAB_CACHE'] });
    expect(predictions().length).toBe(before + 1);

    const refused = await decide(
      ['cmab_flag'],
      { userId: user, decideOptions: ['RESET_CMAB_CACHE'] },
      CLIENT_KEY,
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error).toContain('RESET_CMAB_CACHE');
    const reset = await decide(['cmab_flag'], {
      userId: user,
      userAttributes: hola,
      decideOptions: ['RESET_CMAB_CACHE'],
    });
    expect(reset.status).toBe(200);
    expect(predictions().length).toBe(before + 2);
  });
});

describe('what the prediction service is sent', () => {
  it('the experiment id as visitor and only declared, non-personal CMAB attributes', async () => {
    const anonymousId = `anon-${run}`;
    const email = `cmab-${run}@example.com`;
    fake.personal(email);
    const segment = await fetch(`${app.url}/webhooks/segment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Segment (Actions)' },
      body: JSON.stringify({
        type: 'identify',
        messageId: `${run}-identify`,
        timestamp: '2026-11-24T09:00:00.000Z',
        anonymousId,
        traits: { email, plan: 'pro' },
      }),
    });
    expect(segment.status).toBe(200);

    const before = predictions().length;
    const answer = await post('/v1/decide?keys=cmab_flag&includeIdentity=true', {
      identifiers: { anonymous_id: anonymousId },
      userAttributes: { ...hola, email },
    });
    const decision = answer.body as unknown as Decision;
    expect(decision.ruleKey).toBe('cmab-rule_1');
    const sent = predictions().slice(before);
    expect(sent).toHaveLength(1);
    const instance = sent[0]!.instances[0]!;
    expect(instance.visitorId).toBe(decision.identity!.canonicalId);
    // attr_1 from the request, plan from the person's stored traits; email never, whatever the datafile declares.
    expect(instance.attributes).toEqual([
      { id: ATTR_1, value: 'hola', type: 'custom_attribute' },
      { id: PLAN, value: 'pro', type: 'custom_attribute' },
    ]);
    expect(JSON.stringify(sent)).not.toContain(email);
  });
});

describe('a prediction that fails or does not come in time', () => {
  it("answers Agent's CMAB failure for that flag alone, for operator and client keys, and sends no impression for it", async () => {
    fake.optimizely.predictionDelayMs = 1_000;
    const before = predictions().length;
    await app.server.idle();
    const batchesBefore = fake.optimizely.batches.length;
    for (const key of [ADMIN_KEY, CLIENT_KEY]) {
      const answer = await decide(
        ['cmab_flag', 'feature_2'],
        { userId: `slow-${key}-${run}`, userAttributes: hola, decideOptions: ['INCLUDE_REASONS'] },
        key,
      );
      expect(answer.status).toBe(200);
      const [cmab, other] = answer.body as unknown as Decision[];
      expect(cmab).toEqual({
        variationKey: '',
        enabled: false,
        ruleKey: '',
        flagKey: 'cmab_flag',
        userContext: { userId: `slow-${key}-${run}`, attributes: hola },
        reasons: ['Failed to fetch CMAB data for experiment cmab-rule_1.'],
        isEveryoneElseVariation: false,
      });
      expect(other).toMatchObject({ flagKey: 'feature_2', enabled: true, ruleKey: 'feature_2_test' });
    }
    // The SDK tries a failed prediction once more, then gives up.
    expect(predictions().length - before).toBe(4);
    fake.optimizely.predictionDelayMs = 0;
    await app.server.idle();
    const impressions = fake.optimizely.batches
      .slice(batchesBefore)
      .flatMap((b) => b.visitors)
      .flatMap((v) => v.snapshots)
      .flatMap((s) => (s.decisions ?? []) as { metadata: { flag_key: string } }[]);
    expect(impressions.map((d) => d.metadata.flag_key).sort()).toEqual(['feature_2', 'feature_2']);
  });

  it('answers the same failure when the service answers an error', async () => {
    fake.optimizely.predictionStatus = 500;
    const answer = await decide(['cmab_flag'], { userId: `error-${run}`, userAttributes: hola });
    expect(answer.body).toMatchObject({
      variationKey: '',
      ruleKey: '',
      reasons: ['Failed to fetch CMAB data for experiment cmab-rule_1.'],
    });
  });
});

describe('CMAB decisions and Agent state', () => {
  it('never saves a CMAB decision to the profile service, while the other flags of the request are saved', async () => {
    const user = `ups-${run}`;
    const answer = await decide(['cmab_flag', 'feature_2'], { userId: user, userAttributes: hola });
    expect((answer.body as unknown as Decision[]).map((d) => d.ruleKey)).toEqual([
      'cmab-rule_1',
      'feature_2_test',
    ]);
    const saved = await post('/v1/lookup', { userId: user });
    expect(Object.keys(saved.body.experimentBucketMap as Json)).toEqual([FEATURE_2_TEST]);
  });

  it("saves the bucketing of a CMAB flag's later A/B rule, made after the SDK's awaits", async () => {
    const user = `after-${run}`;
    const answer = await decide(['cmab_flag'], { userId: user, userAttributes: { attr_1: 'adios' } });
    expect(answer.body).toMatchObject({ ruleKey: AFTER_CMAB.key, variationKey: 'after' });
    const saved = await post('/v1/lookup', { userId: user });
    expect(saved.body.experimentBucketMap).toEqual({
      [AFTER_CMAB.id]: { variation_id: AFTER_CMAB.variation },
    });
  });

  it('honours an override of the CMAB rule without asking for a prediction, and clears it after', async () => {
    const user = `override-${run}`;
    expect(
      (await post('/v1/override', { userId: user, experimentKey: 'cmab-rule_1', variationKey: 'off' }))
        .status,
    ).toBe(200);
    const before = predictions().length;
    const forced = await decide(['cmab_flag'], { userId: user, userAttributes: hola });
    expect(forced.body).toMatchObject({ variationKey: 'off', ruleKey: 'cmab-rule_1', enabled: false });
    expect(predictions().length).toBe(before);
    // The override stays the person's own: someone else decided meanwhile gets a prediction.
    const other = await decide(['cmab_flag'], { userId: `not-${user}`, userAttributes: hola });
    expect(other.body.ruleKey).toBe('cmab-rule_1');
    expect(predictions().length).toBe(before + 1);
    await post('/v1/override', { userId: user, experimentKey: 'cmab-rule_1', variationKey: '' });
  });

  it("keeps each person's saved profile and overrides apart while CMAB decisions await their predictions", async () => {
    // Each person has variation_2 of feature_2_test saved (bucketing would give variation_1 to some).
    const people = Array.from({ length: 8 }, (_, i) => `concurrent-${i}-${run}`);
    for (const userId of people) {
      await post('/v1/save', {
        userId,
        experimentBucketMap: { [FEATURE_2_TEST]: { variation_id: '16915611472' } },
      });
    }
    fake.optimizely.predictionDelayMs = 30;
    const operations = people.flatMap((userId, i) => [
      {
        operationID: `cmab-${i}`,
        method: 'POST',
        url: '/v1/decide?keys=cmab_flag&keys=feature_2',
        body: { userId, userAttributes: hola },
      },
      {
        operationID: `plain-${i}`,
        method: 'POST',
        url: '/v1/decide?keys=feature_2',
        body: { userId, userAttributes: hola },
      },
    ]);
    const batch = await post('/v1/batch', { operations });
    expect(batch.status).toBe(200);
    const items = batch.body.response as unknown as { operationID: string; status: number; body: unknown }[];
    expect(items.every((item) => item.status === 200)).toBe(true);
    for (const item of items) {
      const decisions = (Array.isArray(item.body) ? item.body : [item.body]) as Decision[];
      const feature2 = decisions.find((d) => d.flagKey === 'feature_2')!;
      expect({ op: item.operationID, variation: feature2.variationKey }).toEqual({
        op: item.operationID,
        variation: 'variation_2',
      });
    }
    // Nothing leaked into another person's stored profile.
    for (const userId of people) {
      const saved = await post('/v1/lookup', { userId });
      expect(saved.body.experimentBucketMap).toEqual({ [FEATURE_2_TEST]: { variation_id: '16915611472' } });
    }
  });
});

describe('CMAB impressions', () => {
  it("carry the prediction's cmab_uuid, as Agent's do", async () => {
    const user = `uuid-${run}`;
    const before = predictions().length;
    await decide(['cmab_flag'], { userId: user, userAttributes: hola });
    const uuid = predictions()[before]!.instances[0]!.cmabUUID;
    await app.server.idle();
    const decision = fake.optimizely
      .visitors()
      .flatMap((v) => v.snapshots.flatMap((s) => (s.decisions ?? []) as { metadata: Json }[]))
      .find((d) => d.metadata.flag_key === 'cmab_flag' && d.metadata.cmab_uuid === uuid);
    expect(decision?.metadata).toMatchObject({ rule_key: 'cmab-rule_1', cmab_uuid: uuid });
  });
});
