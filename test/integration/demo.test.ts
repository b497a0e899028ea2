/**
 * `npm run demo` against a local server configured as `npm start` configures it: the story goes in
 * through the signed webhook, and every identifier of Albert gets the same variation of every flag.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runDemo } from '../../scripts/demo/run-demo';
import {
  LOCAL_API_KEY,
  LOCAL_SEGMENT_SECRET,
  LOCAL_SEGMENT_TOKEN,
  SAMPLE_DATAFILE,
} from '../../scripts/local/local-stack';
import { startTestApp, type TestApp } from '../support/app';
import { createTestTable, type TestTable } from '../support/dynamodb';

let table: TestTable | undefined;
let app: TestApp | undefined;

beforeAll(async () => {
  table = await createTestTable('demo');
  app = await startTestApp({
    TABLE_NAME: table.tableName,
    API_KEYS: LOCAL_API_KEY,
    SEGMENT_SHARED_SECRET: LOCAL_SEGMENT_SECRET,
    SEGMENT_WEBHOOK_TOKEN: LOCAL_SEGMENT_TOKEN,
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE,
    ACCOUNT_BUCKETED_FLAGS: 'team_dashboard',
  });
});

afterAll(async () => {
  await app?.close();
  await table?.drop();
});

describe('npm run demo', () => {
  const options = () => ({
    url: app!.url,
    apiKey: LOCAL_API_KEY,
    segmentSecret: LOCAL_SEGMENT_SECRET,
    segmentToken: LOCAL_SEGMENT_TOKEN,
  });

  it('sends the story signed, and shows one variation per flag across all of Albert’s identifiers', async () => {
    const result = await runDemo(options());
    expect(result.ingest).toEqual({ accepted: 8, duplicates: 0, rejected: [] });
    expect(result.columns).toHaveLength(6);
    expect([...result.rows.keys()]).toEqual([
      'checkout_redesign',
      'team_dashboard',
      'search_ranking',
      'free_shipping_banner',
    ]);
    for (const [flag, cells] of result.rows) {
      const albert = cells.slice(0, 5);
      expect({ flag, variations: new Set(albert).size }).toEqual({ flag, variations: 1 });
    }
    // Bianca shares Albert's account, and team_dashboard is bucketed by account.
    const dashboard = result.rows.get('team_dashboard')!;
    expect(dashboard[5]).toBe(dashboard[0]);
  });

  it('changes nothing when run again: the story’s message ids are fixed', async () => {
    const again = await runDemo(options());
    expect(again.ingest).toEqual({ accepted: 0, duplicates: 8, rejected: [] });
  });

  it('is refused by a server with another Segment secret', async () => {
    await expect(runDemo({ ...options(), segmentSecret: 'not-the-secret' })).rejects.toThrow(/answered 401/);
    await expect(runDemo({ ...options(), segmentToken: 'not-the-token' })).rejects.toThrow(/answered 401/);
  });
});
