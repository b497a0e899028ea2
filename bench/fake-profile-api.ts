/**
 * A loopback stand-in for Segment's Profile API that answers instantly with the real response
 * shapes, and the per-request lookup a service does without Crosswalk: external_ids, traits and
 * links for one identifier (three HTTP calls, run concurrently, HTTP Basic with the access token).
 */
import { Agent, createServer, request, type Server } from 'node:http';
import type { BenchPerson } from './fixtures/segment-events';

export interface FakeProfileApi {
  url: string;
  close(): Promise<void>;
}

export async function startFakeProfileApi(people: readonly BenchPerson[]): Promise<FakeProfileApi> {
  const byId = new Map<string, BenchPerson>();
  for (const p of people) {
    byId.set(`user_id:${p.userId}`, p);
    byId.set(`email:${p.email}`, p);
    for (const a of p.anonymousIds) byId.set(`anonymous_id:${a}`, p);
  }
  const server: Server = createServer((req, res) => {
    const match =
      /^\/v1\/spaces\/[^/]+\/collections\/users\/profiles\/([^/]+)\/(traits|external_ids|links)/.exec(
        req.url ?? '',
      );
    const person = match ? byId.get(decodeURIComponent(match[1] ?? '')) : undefined;
    res.setHeader('content-type', 'application/json');
    if (!match || !person) {
      res.statusCode = 404;
      res.end(JSON.stringify({ error: { code: 'not_found', message: 'Profile was not found.' } }));
      return;
    }
    const now = '2026-11-01T00:00:00.000Z';
    const body =
      match[2] === 'traits'
        ? {
            traits: { email: person.email, plan: 'pro', country: 'DE', lifetime_value: 120 },
            cursor: { url: '', has_more: false, next: '' },
          }
        : match[2] === 'external_ids'
          ? {
              data: [
                {
                  id: person.userId,
                  type: 'user_id',
                  source_id: 'src',
                  collection: 'users',
                  created_at: now,
                  encoding: 'none',
                },
                {
                  id: person.email,
                  type: 'email',
                  source_id: 'src',
                  collection: 'users',
                  created_at: now,
                  encoding: 'none',
                },
                ...person.anonymousIds.map((id) => ({
                  id,
                  type: 'anonymous_id',
                  source_id: 'src',
                  collection: 'users',
                  created_at: now,
                  encoding: 'none',
                })),
              ],
              cursor: { url: '', has_more: false, next: '' },
            }
          : {
              data: [
                {
                  to_collection: 'accounts',
                  external_ids: [
                    {
                      id: person.accountId,
                      type: 'group_id',
                      source_id: 'src',
                      collection: 'accounts',
                      created_at: now,
                      encoding: 'none',
                    },
                  ],
                },
              ],
            };
    res.end(JSON.stringify(body));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
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
  const root = `${baseUrl}/v1/spaces/bench-space/collections/users/profiles/${type}:${encodeURIComponent(value)}`;
  const [ids, traits, links] = (await Promise.all([
    getJson(`${root}/external_ids`, 'token'),
    getJson(`${root}/traits`, 'token'),
    getJson(`${root}/links`, 'token'),
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
