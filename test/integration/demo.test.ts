/**
 * `npm run demo` against a local server configured as `npm start` configures it: the story goes in
 * through the signed webhook, and every identifier of Albert gets the same variation of every flag.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { formatDemo, runDemo } from '../../scripts/demo/run-demo';
import { ACCOUNT, CHIARA, segmentProfiles } from '../../scripts/demo/story';
import { type LocalProfileApiServer, startLocalProfileApi } from '../../scripts/local/local-profile-api';
import {
  LOCAL_ADMIN_API_KEY,
  LOCAL_API_KEY,
  LOCAL_PROFILE_API_TOKEN,
  LOCAL_SEGMENT_SECRET,
  LOCAL_SEGMENT_TOKEN,
  LOCAL_SPACE_ID,
  SAMPLE_DATAFILE,
} from '../../scripts/local/local-stack';
import { startTestApp, type TestApp } from '../support/app';
import { createTestTable, type TestTable } from '../support/dynamodb';

let table: TestTable | undefined;
let app: TestApp | undefined;
let segment: LocalProfileApiServer | undefined;

beforeAll(async () => {
  table = await createTestTable('demo');
  // As npm start serves it: the demo's people and Chiara, whom only Segment knows.
  segment = await startLocalProfileApi({
    token: LOCAL_PROFILE_API_TOKEN,
    spaceId: LOCAL_SPACE_ID,
    ...segmentProfiles(),
  });
  app = await startTestApp({
    TABLE_NAME: table.tableName,
    ADMIN_API_KEYS: LOCAL_ADMIN_API_KEY,
    SEGMENT_PROFILE_API_URL: segment.url,
    SEGMENT_SPACE_ID: LOCAL_SPACE_ID,
    SEGMENT_PROFILE_API_TOKEN: LOCAL_PROFILE_API_TOKEN,
    PROFILE_API_TIMEOUT_MS: '1500',
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
  await segment?.close();
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
    const calls = segment!.api.calls.length;
    const result = await runDemo({ ...options(), adminKey: LOCAL_ADMIN_API_KEY });
    // Chiara: learned from the Profile API on the first decide, from the cache on the second.
    expect(result.newcomer).toMatchObject({
      first: {
        source: 'profile-api',
        canonicalId: CHIARA.anonymousId,
        userId: CHIARA.userId,
        accountId: ACCOUNT,
      },
      second: { source: 'cache', canonicalId: CHIARA.anonymousId },
      attributes: { plan: 'pro', country: 'ES', account_plan: 'enterprise', $opt_bucketing_id: ACCOUNT },
    });
    // Albert and Bianca came through the webhook: only Chiara cost Profile API calls.
    expect(
      segment!.api.calls
        .slice(calls)
        .every((c) => c.id.includes('web-3b8e21') || c.collection === 'accounts'),
    ).toBe(true);
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

  it('resolves Chiara, whom only Segment knows, on her first decide; the second is a cache hit', async () => {
    const result = await runDemo({ ...options(), adminKey: LOCAL_ADMIN_API_KEY });
    expect(result.newcomer?.first).toMatchObject({
      source: 'cache',
      canonicalId: CHIARA.anonymousId,
      userId: CHIARA.userId,
      accountId: ACCOUNT,
    });
    expect(formatDemo(result)).toContain('Chiara');
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
