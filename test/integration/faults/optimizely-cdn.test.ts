/**
 * Optimizely's datafile CDN down when a container starts (cold), behind the fault proxy, through
 * the local server: a project whose datafile is stored in DynamoDB (by the Optimizely webhook or an
 * earlier container) decides as usual; one with nothing stored answers a quick 503 + Retry-After
 * that names the cause, and decides as soon as the CDN is back (the failure is not remembered).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoDbDatafileStore } from '../../../src/optimizely/dynamodb/datafile-store';
import { sampleDatafile } from '../../support/agent';
import { startTestApp, type TestApp } from '../../support/app';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { type FaultProxy, PASS, startFaultProxy } from '../../support/fault-proxy';
import { startTestOptimizely, type TestOptimizely } from '../../support/optimizely';

const KEY = 'cdn-api-key';
const STORED = 'cdnStoredKey';
/** Nothing stored for these (one per case: once the CDN is back, the datafile is stored). */
const MISSING = { reset: 'cdnMissingReset', blackhole: 'cdnMissingBlackhole' };

let table: TestTable | undefined;
let optimizely: TestOptimizely | undefined;
let cdn: FaultProxy | undefined;

beforeAll(async () => {
  table = await createTestTable('cdn');
  optimizely = await startTestOptimizely(
    new Map([
      [STORED, sampleDatafile()],
      [MISSING.reset, sampleDatafile()],
      [MISSING.blackhole, sampleDatafile()],
    ]),
  );
  cdn = await startFaultProxy(optimizely.url);
  // What the Optimizely webhook (or an earlier container) left: STORED's datafile, nothing for MISSING.
  const datafile = sampleDatafile();
  await new DynamoDbDatafileStore({ client: table.client, tableName: table.tableName }).put({
    sdkKey: STORED,
    datafile,
    revision: Number((JSON.parse(datafile) as { revision: string }).revision),
    fetchedAt: Date.now(),
  });
});

afterAll(async () => {
  await cdn?.close();
  await optimizely?.close();
  await table?.drop();
});

/** A container starting now, with the CDN behind the proxy. */
function coldApp(): Promise<TestApp> {
  return startTestApp({
    TABLE_NAME: table!.tableName,
    API_KEYS: KEY,
    OPTIMIZELY_SDK_KEYS: [STORED, MISSING.reset, MISSING.blackhole].join(','),
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: `${cdn!.url}/datafiles/%s.json`,
    OPTIMIZELY_EVENT_ENDPOINT: optimizely!.eventEndpoint,
  });
}

async function decide(app: TestApp, sdkKey: string) {
  const response = await fetch(`${app.url}/v1/decide?keys=search_ranking`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY, 'x-optimizely-sdk-key': sdkKey },
    body: JSON.stringify({ userId: 'cdn-user' }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as { error?: string; variationKey?: string },
  };
}

describe.each([
  ['refusing connections', { kind: 'reset' } as const],
  ['silent', { kind: 'blackhole' } as const],
])('the datafile CDN %s at cold start', (_name, mode) => {
  let app: TestApp | undefined;

  beforeAll(async () => {
    cdn!.set(mode);
    app = await coldApp();
  });

  afterAll(async () => {
    cdn!.set(PASS);
    await app?.close();
  });

  it('serves the stored datafile', async () => {
    const answer = await decide(app!, STORED);
    expect(answer.status).toBe(200);
    expect(answer.body.variationKey).toMatch(/\S/);
  });

  it('answers 503 + Retry-After naming the cause when none is stored, and decides once the CDN is back', async () => {
    const missing = MISSING[mode.kind];
    const answer = await decide(app!, missing);
    expect(answer.status).toBe(503);
    expect(answer.retryAfter).toBe('1');
    const why = mode.kind === 'blackhole' ? 'did not answer in time' : 'could not be reached';
    expect(answer.body.error).toBe(
      `A dependency is temporarily unavailable; retry later: no datafile is stored for SDK key ${missing}, and the datafile CDN ${why}`,
    );
    cdn!.set(PASS);
    expect((await decide(app!, missing)).status).toBe(200);
  });
});
