/**
 * What one POST /v1/batch can cost (docs/operations.md#what-one-request-can-cost): Agent's 500
 * operations stay allowed, and the identifiers they name, the DynamoDB requests and the Optimizely
 * events they cause are bounded. Measured on the local server with every read of npm start's
 * decide path on (user profiles, overrides), no container caches, and a worst-case batch: 500
 * decides, each for another person named by two identifiers, each asking for every flag, twice.
 * FAULT_REPORT=1 prints the figures.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { eventCount, eventUuids } from '../../../src/events/event-batch';
import { SAMPLE_DATAFILE_PATH } from '../../support/agent';
import { startTestApp, type TestApp } from '../../support/app';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { type CapturedMetrics, captureMetrics } from '../../support/metrics';
import { startTestOptimizely, type TestOptimizely } from '../../support/optimizely';

jest.setTimeout(60_000);

const KEY = 'bounds-api-key';
const FLAGS = ['checkout_redesign', 'team_dashboard', 'search_ranking', 'free_shipping_banner'];
const run = randomUUID().slice(0, 6);

let table: TestTable | undefined;
let optimizely: TestOptimizely | undefined;
let metrics: CapturedMetrics | undefined;

beforeAll(async () => {
  metrics = captureMetrics();
  [table, optimizely] = await Promise.all([createTestTable('bounds'), startTestOptimizely()]);
});

afterAll(async () => {
  await optimizely?.close();
  await table?.drop();
  metrics?.restore();
});

function app(variables: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({
    TABLE_NAME: table!.tableName,
    API_KEYS: KEY,
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE_PATH,
    OPTIMIZELY_EVENT_ENDPOINT: optimizely!.eventEndpoint,
    USER_PROFILE_SERVICE: 'dynamodb',
    ENABLE_OVERRIDES: 'true',
    OVERRIDE_CACHE_TTL_MS: '0',
    IDENTITY_CACHE_TTL_MS: '0',
    IDENTITY_NEGATIVE_CACHE_TTL_MS: '0',
    ACCOUNT_CACHE_TTL_MS: '0',
    CROSSWALK_METRICS: 'on',
    ...variables,
  });
}

/** 500 decides for 500 people, two identifiers each, every flag asked for twice. */
function worstBatch(tag: string, identifiersEach = 2) {
  const keys = [...FLAGS, ...FLAGS].map((k) => `keys=${k}`).join('&');
  return {
    operations: Array.from({ length: 500 }, (_, i) => ({
      method: 'POST',
      url: `/v1/decide?${keys}`,
      operationID: String(i),
      body: {
        userId: `${run}-${tag}-user-${i}`,
        ...(identifiersEach > 1
          ? {
              identifiers: Object.fromEntries(
                Array.from({ length: identifiersEach - 1 }, (_, k) => [
                  `custom_${k}`,
                  `${run}-${tag}-${i}-${k}`,
                ]),
              ),
            }
          : {}),
      },
    })),
  };
}

async function batch(target: TestApp, request: unknown) {
  const response = await fetch(`${target.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body: JSON.stringify(request),
  });
  const body = (await response.json()) as { error?: string; response?: { status: number; body: unknown }[] };
  return { status: response.status, body, items: body.response ?? [] };
}

/** What the batch cost: from the metrics it emitted, and what reached the event API. */
async function measured(target: TestApp, send: () => Promise<unknown>) {
  const before = { ...metrics!.counts };
  const received = optimizely!.optimizely.batches.length;
  await send();
  await target.server.idle();
  const delta = (name: string) => (metrics!.counts[name] ?? 0) - (before[name] ?? 0);
  const posts = optimizely!.optimizely.batches.slice(received);
  return {
    dynamoDbRequests: delta('BatchDynamoDbRequests'),
    events: delta('BatchEvents'),
    eventsReceived: posts.reduce((sum, b) => sum + eventCount(b as never), 0),
    uuidsReceived: new Set(posts.flatMap((b) => eventUuids(b as never))).size,
    failedOpen: delta('DecideFailedOpen'),
    eventPosts: posts.length,
    eventBytes: posts.reduce((sum, b) => sum + JSON.stringify(b).length, 0),
  };
}

describe('POST /v1/batch bounds', () => {
  let target: TestApp | undefined;

  beforeAll(async () => {
    target = await app();
  });

  afterAll(async () => {
    await target?.close();
  });

  it("keeps Agent's 500 operations, and bounds the DynamoDB requests and events of a worst-case batch", async () => {
    let answer: Awaited<ReturnType<typeof batch>> | undefined;
    const cost = await measured(target!, async () => {
      answer = await batch(target!, worstBatch('worst'));
    });
    expect(answer!.status).toBe(200);
    const statuses = answer!.items.map((item) => item.status);
    expect(statuses).toHaveLength(500);
    // Answered, refused for its budget (422), or, on a machine too slow to run them all before the
    // batch's time reserve, not started (503, retryable).
    expect(statuses.filter((s) => s !== 200 && s !== 422 && s !== 503)).toEqual([]);
    // Once a budget was spent, no operation started: those that started below it (10 at most, each
    // at most 5 DynamoDB requests: identity, account, overrides, saved profile read and write, and
    // one decision per distinct flag, a key asked for twice being decided once) went on.
    expect(cost.dynamoDbRequests).toBeLessThan(2_000 + 10 * 5);
    expect(cost.events).toBeLessThan(2_000 + 10 * FLAGS.length);
    // Every event reached the event API; a second copy (same uuid) only when the merged store ran past
    // decide's read budget but landed, so the relay sent what the after-answer fallback sent too.
    expect(cost.uuidsReceived).toBe(cost.events);
    expect(cost.eventsReceived === cost.events || cost.failedOpen > 0).toBe(true);
    if (process.env.FAULT_REPORT) {
      process.stderr.write(
        `${JSON.stringify({ bound: 'batch-worst-case', ...cost, statuses: Object.fromEntries([200, 422, 503].map((code) => [code, statuses.filter((s) => s === code).length])) })}\n`,
      );
    }
  });

  it('refuses a batch naming more identifiers than BATCH_MAX_IDENTIFIERS before running anything', async () => {
    const before = metrics!.counts.BatchOperations ?? 0;
    const answer = await batch(target!, worstBatch('many-ids', 3));
    expect(answer).toMatchObject({
      status: 422,
      body: { error: 'too many identifiers, exceeding 1000 identifiers' },
    });
    expect(metrics!.counts.BatchOperations ?? 0).toBe(before);
  });

  it('stops starting operations once its DynamoDB budget is spent', async () => {
    const small = await app({ BATCH_MAX_DYNAMODB_REQUESTS: '40', BATCH_MAX_CONCURRENCY: '2' });
    try {
      let answer: Awaited<ReturnType<typeof batch>> | undefined;
      const cost = await measured(small, async () => {
        answer = await batch(small, worstBatch('small'));
      });
      const statuses = answer!.items.map((item) => item.status);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 422).length).toBeGreaterThan(400);
      expect(statuses.filter((s) => s !== 200 && s !== 422)).toEqual([]);
      expect(cost.dynamoDbRequests).toBeLessThan(40 + 2 * 5);
      const refused = answer!.items.find((item) => item.status === 422);
      expect((refused?.body as { error?: string } | undefined)?.error).toMatch(
        /^the batch has spent its budget: \d+ DynamoDB requests \(BATCH_MAX_DYNAMODB_REQUESTS is 40\); send the remaining operations in another batch$/,
      );
    } finally {
      await small.close();
    }
  });
});
