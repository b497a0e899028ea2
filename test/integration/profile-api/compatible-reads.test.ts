/**
 * Segment's Profile API read paths served by Crosswalk, through the local server (docs/profile-api.md):
 * the calls of the Segment × Optimizely blog post's reference server run unchanged against Crosswalk's
 * base URL, and every answer has the shape of Segment's documented examples; Segment's statuses and
 * error bodies; `include`, `limit`, `class`, `verbose` and paging; `{type}:{value}` decoded exactly
 * once (`%2B` is `+`); a person the cache does not know is learned from Segment first.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sendSegment } from '../../../scripts/demo/client';
import { ACCOUNT, ALBERT, BIANCA, demoEvents } from '../../../scripts/demo/story';
import { type LocalProfileApiServer, startLocalProfileApi } from '../../../scripts/local/local-profile-api';
import { SAMPLE_DATAFILE } from '../../../scripts/local/local-stack';
import { startTestApp, type TestApp } from '../../support/app';
import { createTestTable, type TestTable } from '../../support/dynamodb';

const run = randomUUID().slice(0, 6);
const SPACE = 'spa_compat';
const ADMIN = 'admin-key';
const CLIENT = 'client-key';
const TOKEN = 'segment-token';
const example = (name: string) =>
  JSON.parse(
    readFileSync(resolve(import.meta.dirname, '../../fixtures/segment/profile-api', `${name}.json`), 'utf8'),
  ) as unknown;

let table: TestTable | undefined;
let segment: LocalProfileApiServer | undefined;
let app: TestApp | undefined;

beforeAll(async () => {
  table = await createTestTable('profile-api-reads');
  segment = await startLocalProfileApi({ token: TOKEN, spaceId: SPACE });
  app = await startTestApp({
    TABLE_NAME: table.tableName,
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE,
    API_KEYS: CLIENT,
    ADMIN_API_KEYS: ADMIN,
    SEGMENT_PROFILE_API_URL: segment.url,
    SEGMENT_SPACE_ID: SPACE,
    SEGMENT_PROFILE_API_TOKEN: TOKEN,
    PROFILE_API_TIMEOUT_MS: '1500',
  });
  const sent = await sendSegment({ url: app.url }, [
    ...demoEvents(),
    {
      type: 'identify',
      messageId: `phone-${run}`,
      timestamp: new Date().toISOString(),
      userId: `phone-person-${run}`,
      traits: { plan: 'free' },
      context: {
        externalIds: [{ id: '+4917012345678', type: 'phone_number', collection: 'users', encoding: 'none' }],
      },
    },
  ]);
  expect(sent).toMatchObject({ status: 200, body: { rejected: [] } });
});

afterAll(async () => {
  await app?.close();
  await segment?.close();
  await table?.drop();
});

/** GET as Segment's clients do: HTTP Basic, the key as user name and an empty password. */
async function get(
  path: string,
  key: string | null = ADMIN,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
  const response = await fetch(`${app!.url}/v1/spaces/${SPACE}/collections/${path}`, { headers });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

/**
 * Where an answer's structure differs from a documented example's: the same keys at every level and
 * the same JSON types, except maps keyed by data (`traits`) and the ids Crosswalk does not keep
 * (source and message ids: null).
 */
function shapeDifferences(actual: unknown, expected: unknown, path = '$'): string[] {
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  const nullable = /(source_id|message_id|expires_at)$/;
  if (kind(actual) !== kind(expected)) {
    if (kind(actual) === 'null' && nullable.test(path)) return [];
    return [`${path}: ${kind(actual)} where Segment has ${kind(expected)}`];
  }
  if (Array.isArray(expected)) {
    const list = actual as unknown[];
    if (list.length === 0) return [`${path}: empty, cannot compare`];
    return list.flatMap((item, i) => shapeDifferences(item, expected[0], `${path}[${i}]`));
  }
  if (kind(expected) !== 'object') return [];
  if (path.endsWith('.traits')) return [];
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(e)])].sort();
  return keys.flatMap((k) =>
    k in a && k in e
      ? shapeDifferences(a[k], e[k], `${path}.${k}`)
      : [`${path}.${k}: ${k in a ? 'not in' : 'missing from'} the answer`],
  );
}

describe('the blog post’s calls, unchanged, against Crosswalk', () => {
  it('reads user traits by user_id (1) as Segment documents them', async () => {
    const answer = await get(`users/profiles/user_id:${ALBERT.userId}/traits`);
    expect(answer.status).toBe(200);
    expect(shapeDifferences(answer.body, example('traits'))).toEqual([]);
    expect((answer.body as { traits: Record<string, unknown> }).traits).toMatchObject({
      plan: 'pro',
      country: 'DE',
      high_value_customers: true,
    });
    expect(answer.headers.get('request-id')).toBeTruthy();
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it('reads external ids by anonymous_id', async () => {
    const answer = await get(`users/profiles/anonymous_id:${ALBERT.appAnonymousId}/external_ids`);
    expect(answer.status).toBe(200);
    expect(shapeDifferences(answer.body, example('external_ids'))).toEqual([]);
    const ids = (answer.body as { data: { type: string; id: string }[] }).data;
    expect(ids.map((i) => `${i.type}:${i.id}`).sort()).toEqual(
      [
        `anonymous_id:${ALBERT.appAnonymousId}`,
        `anonymous_id:${ALBERT.webAnonymousId}`,
        `email:${ALBERT.email}`,
        `ios.id:${ALBERT.iosDeviceId}`,
        `user_id:${ALBERT.userId}`,
      ].sort(),
    );
  });

  it('follows links to the account’s traits (a, b)', async () => {
    const links = await get(`users/profiles/email:${ALBERT.email}/links`);
    expect(links.status).toBe(200);
    expect(shapeDifferences(links.body, example('links'))).toEqual([]);
    const groupId = (links.body as { data: { external_ids: { id: string; type: string }[] }[] }).data
      .flatMap((d) => d.external_ids)
      .find((e) => e.type === 'group_id')!.id;
    expect(groupId).toBe(ACCOUNT);
    const traits = await get(`accounts/profiles/group_id:${groupId}/traits`);
    expect(traits.status).toBe(200);
    expect(shapeDifferences(traits.body, example('traits'))).toEqual([]);
    expect((traits.body as { traits: unknown }).traits).toEqual({
      industry: 'Software',
      name: 'Acme Inc',
      plan: 'enterprise',
      seats: 120,
    });
  });

  it('answers metadata and verbose traits in Segment’s shapes', async () => {
    const meta = await get(`users/profiles/user_id:${ALBERT.userId}/metadata`);
    expect(shapeDifferences(meta.body, example('metadata'))).toEqual([]);
    const verbose = await get(`users/profiles/user_id:${ALBERT.userId}/traits?include=name&verbose=true`);
    expect(shapeDifferences(verbose.body, example('traits-verbose'))).toEqual([]);
    expect((verbose.body as { traits: Record<string, unknown> }).traits).toEqual({
      name: { value: 'Albert Zweistein', source_id: null, updated_at: expect.any(String) },
    });
  });

  it('lists an account’s members', async () => {
    const members = await get(`accounts/profiles/group_id:${ACCOUNT}/links`);
    expect(members.status).toBe(200);
    const users = (
      members.body as { data: { to_collection: string; external_ids: { type: string; id: string }[] }[] }
    ).data;
    expect(users.every((u) => u.to_collection === 'users')).toBe(true);
    expect(users.map((u) => u.external_ids.find((e) => e.type === 'user_id')?.id).sort()).toEqual(
      [ALBERT.userId, BIANCA.userId].sort(),
    );
  });
});

describe('Segment’s parameters', () => {
  const traitsOf = async (query: string) => {
    const answer = await get(`users/profiles/user_id:${ALBERT.userId}/traits?${query}`);
    expect(answer.status).toBe(200);
    return answer.body as { traits: Record<string, unknown>; cursor: { has_more: boolean; next: string } };
  };

  it('filters with include and class, and pages with limit and next', async () => {
    expect((await traitsOf('include=plan,country')).traits).toEqual({ plan: 'pro', country: 'DE' });
    expect((await traitsOf('class=audience')).traits).toEqual({ high_value_customers: true });
    expect((await traitsOf('class=computed_trait')).traits).toEqual({});
    const first = await traitsOf('limit=2');
    expect(Object.keys(first.traits)).toEqual(['country', 'email']);
    expect(first.cursor).toMatchObject({ has_more: true, next: 'high_value_customers' });
    const rest = await traitsOf(`limit=10&next=${first.cursor.next}`);
    expect(Object.keys(rest.traits)).toEqual(['high_value_customers', 'name', 'plan']);
    expect(rest.cursor).toMatchObject({ has_more: false, next: '' });
  });

  it('pages external ids and filters them by type', async () => {
    const page = await get(`users/profiles/user_id:${ALBERT.userId}/external_ids?limit=2`);
    const body = page.body as { data: unknown[]; cursor: { has_more: boolean; next: string } };
    expect(body.data).toHaveLength(2);
    expect(body.cursor.has_more).toBe(true);
    const anonymous = await get(`users/profiles/user_id:${ALBERT.userId}/external_ids?include=anonymous_id`);
    expect((anonymous.body as { data: { type: string }[] }).data.map((d) => d.type)).toEqual([
      'anonymous_id',
      'anonymous_id',
    ]);
  });
});

describe('Segment’s statuses and error bodies', () => {
  it.each([
    ['no key', `users/profiles/user_id:${ALBERT.userId}/traits`, null, 401, 'authentication_error'],
    ['a wrong key', `users/profiles/user_id:${ALBERT.userId}/traits`, 'nope', 401, 'authentication_error'],
    ['a client key', `users/profiles/user_id:${ALBERT.userId}/traits`, CLIENT, 401, 'authentication_error'],
    ['an unknown person', `users/profiles/user_id:nobody-${run}/traits`, ADMIN, 404, 'not_found'],
    ['an unknown account', `accounts/profiles/group_id:nobody-${run}/traits`, ADMIN, 404, 'not_found'],
    ['limit=0', `users/profiles/user_id:${ALBERT.userId}/traits?limit=0`, ADMIN, 400, 'validation_error'],
    [
      'class=bogus',
      `users/profiles/user_id:${ALBERT.userId}/traits?class=bogus`,
      ADMIN,
      400,
      'validation_error',
    ],
    ['/events (not served)', `users/profiles/user_id:${ALBERT.userId}/events`, ADMIN, 404, 'not_found'],
  ])('answers %s with Segment’s status and error code', async (_what, path, key, status, code) => {
    const answer = await get(path, key);
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ error: { code, message: expect.any(String) } });
  });

  it('answers an unknown person with Segment’s exact 404 body', async () => {
    const answer = await get(`users/profiles/user_id:nobody-${run}/traits`);
    expect(answer.body).toEqual(example('not-found'));
  });

  it('takes x-api-key as well as HTTP Basic', async () => {
    const response = await fetch(
      `${app!.url}/v1/spaces/${SPACE}/collections/users/profiles/user_id:${ALBERT.userId}/traits`,
      {
        headers: { 'x-api-key': ADMIN },
      },
    );
    expect(response.status).toBe(200);
  });

  it('knows only its own space', async () => {
    const response = await fetch(
      `${app!.url}/v1/spaces/other-space/collections/users/profiles/user_id:${ALBERT.userId}/traits`,
      { headers: { 'x-api-key': ADMIN } },
    );
    expect(response.status).toBe(404);
  });
});

describe('{type}:{value} in the path', () => {
  it('reads %2B as + and decodes exactly once', async () => {
    const encoded = await get(`users/profiles/phone_number:%2B4917012345678/traits`);
    expect(encoded.status).toBe(200);
    expect((encoded.body as { traits: unknown }).traits).toEqual({ plan: 'free' });
    // A + sent as is stays +: Crosswalk does not read it as a space.
    expect((await get(`users/profiles/phone_number:+4917012345678/traits`)).status).toBe(200);
    // Encoded twice, it is the text %2B…, which nobody has.
    expect((await get(`users/profiles/phone_number:%252B4917012345678/traits`)).status).toBe(404);
  });
});

describe('a person the cache does not know', () => {
  it('is learned from Segment’s Profile API first, then served from the cache', async () => {
    const anon = `only-in-segment-${run}`;
    segment!.api.add({
      externalIds: [
        { type: 'anonymous_id', id: anon, createdAt: '2026-10-01T09:00:00.000Z' },
        { type: 'user_id', id: `segment-only-${run}`, createdAt: '2026-10-01T09:05:00.000Z' },
      ],
      traits: { plan: 'pro', favourite_colour: 'teal' },
    });
    const first = await get(`users/profiles/user_id:segment-only-${run}/traits`);
    expect(first.status).toBe(200);
    expect((first.body as { traits: unknown }).traits).toEqual({ plan: 'pro', favourite_colour: 'teal' });
    const calls = segment!.api.calls.length;
    const again = await get(`users/profiles/anonymous_id:${anon}/external_ids`);
    expect(again.status).toBe(200);
    expect(segment!.api.calls.length).toBe(calls);
  });
});
