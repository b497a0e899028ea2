/**
 * npm start's stand-in of Segment's Profile API (scripts/local/local-profile-api.ts): Segment's
 * token check, its 100 requests per second (429 above, in any one-second window) and its shapes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { segmentProfiles } from '../../../scripts/demo/story';
import {
  LocalProfileApi,
  type LocalProfileApiServer,
  startLocalProfileApi,
} from '../../../scripts/local/local-profile-api';

let segment: LocalProfileApiServer | undefined;

beforeAll(async () => {
  segment = await startLocalProfileApi({ token: 't', spaceId: 's', ...segmentProfiles(), maxPerSecond: 5 });
});

afterAll(async () => {
  await segment?.close();
});

const get = (path: string, token = 't') =>
  fetch(`${segment!.url}/v1/spaces/s/collections/${path}`, {
    headers: { authorization: `Basic ${Buffer.from(`${token}:`).toString('base64')}` },
  });

describe('the local Profile API stand-in', () => {
  it('allows Segment’s 100 requests per second by default', () => {
    expect(new LocalProfileApi({ token: 't' }).maxPerSecond).toBe(100);
  });

  it('answers 429 rate_limit_error above its limit, and 401 for a wrong token', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await get('users/profiles/user_id:chiara-789/traits')).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses).toContain(429);
    await new Promise((r) => setTimeout(r, 1_100));
    const limited = await get('users/profiles/user_id:nobody/traits', 'wrong');
    expect(limited.status).toBe(401);
    expect(await limited.json()).toEqual({
      error: { code: 'authentication_error', message: expect.any(String) },
    });
  });

  it('reads a bare + as a space, as Segment does: + is sent as %2B', async () => {
    await new Promise((r) => setTimeout(r, 1_100));
    segment!.api.add({ externalIds: [{ type: 'phone', id: '+4917', createdAt: '2026-01-01T00:00:00Z' }] });
    expect((await get('users/profiles/phone:%2B4917/external_ids')).status).toBe(200);
    expect((await get('users/profiles/phone:+4917/external_ids')).status).toBe(404);
  });
});
