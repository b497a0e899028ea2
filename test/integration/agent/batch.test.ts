/**
 * Optimizely Agent's POST /v1/batch beyond Agent's own three cases: the SDK key of an operation
 * (Agent's 400 for a header sent empty, Crosswalk's default project for one left out), and one
 * event delivery per batch request: a batch's decision and conversion events leave together,
 * merged into as few event API requests as their size allows, not one per operation.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../../support/app';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../../support/optimizely';
import { outboxUuids } from '../../support/outbox';

const SDK_KEY = 'KZbunNn9bVfBWLpZPq2XC4';
const datafile = readFileSync(
  resolve(import.meta.dirname, '..', '..', 'fixtures', 'agent', 'acceptance', `datafile_${SDK_KEY}.json`),
  'utf8',
);
const run = randomUUID().slice(0, 8);

type Json = Record<string, unknown>;

let table: TestTable;
let fake: TestOptimizely;
let app: TestApp;

beforeAll(async () => {
  [table, fake] = await Promise.all([
    createTestTable('batch'),
    startTestOptimizely(new Map([[SDK_KEY, datafile]])),
  ]);
  // Crosswalk's defaults (BATCH_OPERATIONS_LIMIT 500), with a default project.
  app = await startTestApp({
    TABLE_NAME: table.tableName,
    OPTIMIZELY_SDK_KEY: SDK_KEY,
    OPTIMIZELY_SDK_KEYS: SDK_KEY,
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: fake.datafileUrlTemplate,
    OPTIMIZELY_EVENT_ENDPOINT: fake.eventEndpoint,
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

async function batch(operations: Json[]) {
  const response = await fetch(`${app.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ operations }),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    body: JSON.parse(text) as {
      errorCount: number;
      response: { operationID: string; status: number; body: Json }[];
    },
  };
}

describe("an operation's SDK key", () => {
  it("is Agent's 400 when its header is there but empty, and the default project when it is left out", async () => {
    const answer = await batch([
      { method: 'GET', url: '/v1/config', operationID: 'empty', headers: { 'X-Optimizely-SDK-Key': '' } },
      { method: 'GET', url: '/v1/config', operationID: 'blank', headers: { 'X-Optimizely-SDK-Key': '  ' } },
      { method: 'GET', url: '/v1/config', operationID: 'absent', headers: {} },
      {
        method: 'POST',
        url: '/v1/decide?keys=feature_1',
        operationID: 'decide-empty',
        headers: { 'X-Optimizely-SDK-Key': '' },
        body: { userId: `u-${run}` },
      },
    ]);
    expect(answer.status).toBe(200);
    const byId = new Map(answer.body.response.map((item) => [item.operationID, item]));
    for (const id of ['empty', 'blank', 'decide-empty']) {
      expect(byId.get(id)).toMatchObject({
        status: 400,
        body: { error: 'missing required X-Optimizely-SDK-Key header' },
      });
    }
    expect(byId.get('absent')).toMatchObject({ status: 200, body: { sdkKey: SDK_KEY } });
    expect(answer.body.errorCount).toBe(3);
    // Agent reads each operation's body back into a map: an item's keys come sorted.
    expect(answer.text).toContain('"body":{"attributes":[');
  });

  it('is the same 400 for a request of its own that sends the header empty', async () => {
    const response = await fetch(`${app.url}/v1/config`, { headers: { 'X-Optimizely-SDK-Key': '' } });
    expect(response.status).toBe(400);
    expect(await response.text()).toBe('{"error":"missing required X-Optimizely-SDK-Key header"}\n');
    expect((await fetch(`${app.url}/v1/config`)).status).toBe(200);
  });
});

describe('event delivery of a batch', () => {
  it('sends the events of 500 operations in a handful of requests, every event once', async () => {
    await app.server.idle();
    const before = { ...fake.optimizely.received };
    const decides = Array.from({ length: 450 }, (_, i) => ({
      method: 'POST',
      url: '/v1/decide?keys=feature_2',
      operationID: `d${i}`,
      body: { userId: `batch-${run}-${i}`, userAttributes: { attr_1: 'hola' } },
    }));
    const tracks = Array.from({ length: 50 }, (_, i) => ({
      method: 'POST',
      url: '/v1/track?eventKey=myevent',
      operationID: `t${i}`,
      body: { userId: `batch-${run}-${i}`, userAttributes: { attr_1: 'hola' } },
    }));
    // On a machine too slow to start all 500 before the batch's time reserve, the rest answer 503
    // (retryable: functions/agent-api/operations/batch.ts); they go again in another batch, as a
    // client's retry would.
    let pending: Json[] = [...decides, ...tracks];
    let batches = 0;
    while (pending.length > 0 && batches < 5) {
      const answer = await batch(pending);
      batches++;
      expect(answer.status).toBe(200);
      expect(answer.body.response.filter((item) => item.status !== 200 && item.status !== 503)).toEqual([]);
      const again = new Set(answer.body.response.filter((i) => i.status === 503).map((i) => i.operationID));
      pending = pending.filter((op) => again.has(op.operationID as string));
    }
    expect(pending).toEqual([]);
    await app.server.idle();

    const requests = fake.optimizely.received.batches - before.batches;
    const visitors = fake.optimizely.received.visitors - before.visitors;
    // 450 decisions (feature_2_test) and 50 conversions: two envelopes at most per kind of merge.
    expect(visitors).toBe(500);
    expect(requests).toBeGreaterThanOrEqual(1);
    expect(requests).toBeLessThanOrEqual(4 * batches);
    // Every conversion was stored before its answer and removed once delivered.
    expect(await outboxUuids(table)).toEqual([]);
  }, 60_000);
});
