/**
 * Segment's Profile API for the bench: the local stand-in (scripts/local/local-profile-api.ts, the
 * one `npm start` and the tests use) seeded with the bench's people, answering instantly on
 * loopback; and the per-request lookup a service does without Crosswalk: external_ids, traits and
 * links for one identifier (three HTTP calls, run concurrently, HTTP Basic with the access token).
 */
import { Agent, request } from 'node:http';
import { type StandInPerson, startLocalProfileApi } from '../scripts/local/local-profile-api';
import type { BenchPerson } from './fixtures/segment-events';

export interface FakeProfileApi {
  url: string;
  close(): Promise<void>;
}

export const BENCH_SPACE = 'bench-space';
export const BENCH_PROFILE_API_TOKEN = 'token';

/** A bench person as Segment's Profile API describes them. */
export function standInPerson(p: BenchPerson, createdAt = '2026-11-01T00:00:00.000Z'): StandInPerson {
  return {
    externalIds: [
      { type: 'user_id', id: p.userId, createdAt },
      { type: 'email', id: p.email, createdAt },
      ...p.anonymousIds.map((id) => ({ type: 'anonymous_id', id, createdAt })),
    ],
    traits: { email: p.email, plan: 'pro', country: 'DE', lifetime_value: 120 },
    accounts: [{ id: p.accountId, createdAt }],
  };
}

export async function startFakeProfileApi(people: readonly BenchPerson[]): Promise<FakeProfileApi> {
  const server = await startLocalProfileApi({
    token: BENCH_PROFILE_API_TOKEN,
    people: people.map((p) => standInPerson(p)),
    // The bench measures Crosswalk, not Segment's limit.
    maxPerSecond: Number.POSITIVE_INFINITY,
  });
  return { url: server.url, close: () => server.close() };
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

function getJson(url: string, token: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent, headers: { authorization: `Basic ${Buffer.from(`${token}:`).toString('base64')}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** What a service does per request without Crosswalk: three Profile API calls for one identifier. */
export async function profileApiLookup(
  baseUrl: string,
  type: string,
  value: string,
): Promise<{ userId?: string; traits: unknown; accountId?: string }> {
  const root = `${baseUrl}/v1/spaces/${BENCH_SPACE}/collections/users/profiles/${type}:${encodeURIComponent(value)}`;
  const [ids, traits, links] = (await Promise.all([
    getJson(`${root}/external_ids`, BENCH_PROFILE_API_TOKEN),
    getJson(`${root}/traits`, BENCH_PROFILE_API_TOKEN),
    getJson(`${root}/links`, BENCH_PROFILE_API_TOKEN),
  ])) as [
    { data?: { id: string; type: string }[] },
    { traits?: unknown },
    { data?: { external_ids?: { id: string }[] }[] },
  ];
  const userId = ids.data?.find((d) => d.type === 'user_id')?.id;
  const accountId = links.data?.[0]?.external_ids?.[0]?.id;
  return { ...(userId ? { userId } : {}), traits: traits.traits, ...(accountId ? { accountId } : {}) };
}

export function closeProfileApiAgent(): void {
  agent.destroy();
}
