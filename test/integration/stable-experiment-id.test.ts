/**
 * The product's promise, measured through the HTTP API on a 50/50 flag (search_ranking): a person
 * keeps their variation when they log in or sign up, whether Segment had seen them before or not;
 * when two profiles turn out to be one person, only the younger profile's surface changes, once;
 * and nothing personal ever reaches Optimizely.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decide, sendSegment } from '../../scripts/demo/client';
import { SAMPLE_DATAFILE } from '../../scripts/local/local-stack';
import { startTestApp, type TestApp } from '../support/app';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../support/optimizely';

const FLAG = 'search_ranking';
const run = randomUUID().slice(0, 6);
let table: TestTable | undefined;
let optimizely: TestOptimizely | undefined;
let app: TestApp | undefined;

beforeAll(async () => {
  [table, optimizely] = await Promise.all([createTestTable('stable-id'), startTestOptimizely()]);
  app = await startTestApp({
    TABLE_NAME: table.tableName,
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE,
    OPTIMIZELY_EVENT_ENDPOINT: optimizely.eventEndpoint,
    // Every decide reads the identity table, so each answer reflects what Segment has said so far.
    IDENTITY_CACHE_TTL_MS: '0',
    IDENTITY_NEGATIVE_CACHE_TTL_MS: '0',
  });
});

afterAll(async () => {
  try {
    // Decision events leave after the answers: let the server finish them before checking.
    await app?.server.idle();
    optimizely?.assertNoPersonalData();
  } finally {
    await app?.close();
    await optimizely?.close();
    await table?.drop();
  }
});

const client = () => ({ url: app!.url });
let minute = 0;
const at = () => new Date(Date.UTC(2026, 10, 20, 8, 0) + minute++ * 60_000).toISOString();
let messages = 0;
const event = (fields: Record<string, unknown>) => ({
  messageId: `${run}-${messages++}`,
  timestamp: at(),
  ...fields,
});

async function variation(body: Record<string, unknown>): Promise<string> {
  const answer = await decide<{ variationKey: string; identity: { canonicalId: string } }>(client(), body, [
    FLAG,
  ]);
  expect(answer.status).toBe(200);
  return answer.body.variationKey;
}

async function segment(events: Record<string, unknown>[]): Promise<void> {
  // Segment retries a 5xx (DynamoDB Local can pass its 2 s request timeout under the full suite's load).
  let answer = await sendSegment(client(), events);
  for (let attempt = 1; answer.status === 503 && attempt < 5; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    answer = await sendSegment(client(), events);
  }
  expect(answer).toMatchObject({ status: 200, body: { rejected: [] } });
}

describe('login and signup', () => {
  it('keeps the variation of 240 people through identify, seen anonymously by Segment before or not (0 % flips)', async () => {
    const people = Array.from({ length: 240 }, (_, i) => ({
      anon: `anon-${run}-${i}`,
      user: `user-${run}-${i}`,
      email: `person-${i}-${run}@example.com`,
      seenBefore: i % 2 === 0,
    }));
    for (const p of people) optimizely!.personal(p.email);
    // Half of them browsed before: Segment already has an anonymous profile for them.
    await segment(
      people
        .filter((p) => p.seenBefore)
        .map((p) => event({ type: 'page', anonymousId: p.anon, name: 'Home' })),
    );

    const before: string[] = [];
    for (const p of people) before.push(await variation({ identifiers: { anonymous_id: p.anon } }));
    // The flag really splits them, so "no flips" means something.
    const share = before.filter((v) => v === before[0]).length / before.length;
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.7);

    // Signup / login: the identify that links the anonymous id and the new user id (and the email).
    await segment(
      people.map((p) =>
        event({ type: 'identify', userId: p.user, anonymousId: p.anon, traits: { email: p.email } }),
      ),
    );

    let flips = 0;
    for (const [i, p] of people.entries()) {
      const after = [
        await variation({ identifiers: { anonymous_id: p.anon } }),
        await variation({ userId: p.user }),
        await variation({ identifiers: { email: p.email } }),
      ];
      if (after.some((v) => v !== before[i])) flips++;
    }
    expect(flips / people.length).toBe(0);
  }, 120_000);
});

describe('merges', () => {
  it('lets only the younger profile’s surface change, once, when 120 people’s web and app profiles merge', async () => {
    const people = Array.from({ length: 120 }, (_, i) => ({
      user: `web-user-${run}-${i}`,
      email: `merge-${i}-${run}@example.com`,
      anon: `app-anon-${run}-${i}`,
      device: `device-${run}-${i}`,
    }));
    for (const p of people) optimizely!.personal(p.email);
    // The web profile first (user id + email), then the app profile (anonymous id + device).
    await segment(people.map((p) => event({ type: 'identify', userId: p.user, traits: { email: p.email } })));
    await segment(
      people.map((p) =>
        event({
          type: 'screen',
          anonymousId: p.anon,
          name: 'Home',
          context: { device: { id: p.device, type: 'ios' } },
        }),
      ),
    );
    const web: string[] = [];
    const app: string[] = [];
    for (const p of people) {
      web.push(await variation({ userId: p.user }));
      app.push(await variation({ identifiers: { anonymous_id: p.anon } }));
    }
    // The app identifies with the web profile's email: one person.
    await segment(
      people.map((p) => event({ type: 'identify', anonymousId: p.anon, traits: { email: p.email } })),
    );

    let appFlips = 0;
    for (const [i, p] of people.entries()) {
      const after = [
        await variation({ userId: p.user }),
        await variation({ identifiers: { email: p.email } }),
        await variation({ identifiers: { anonymous_id: p.anon } }),
        await variation({ identifiers: { 'ios.id': p.device } }),
      ];
      // Every identifier agrees, on the older (web) profile's variation.
      expect(new Set(after)).toEqual(new Set([web[i]]));
      if (app[i] !== web[i]) appFlips++;
    }
    // About half of the app surfaces change (a 50/50 flag), the web ones never.
    expect(appFlips / people.length).toBeGreaterThan(0.25);
    expect(appFlips / people.length).toBeLessThan(0.75);
  }, 120_000);
});

describe('personal identifiers', () => {
  it('decides someone known only by email on a digest, the same for every spelling, and sends no email', async () => {
    const email = `only-email-${run}@example.com`;
    optimizely!.personal(email);
    const first = await decide<{ identity: { canonicalId: string }; userContext: { userId: string } }>(
      client(),
      { identifiers: { email: `  ${email.toUpperCase()} ` } },
      [FLAG],
    );
    expect(first.body.identity.canonicalId).toMatch(/^cw1_/);
    expect(first.body.userContext.userId).toBe(first.body.identity.canonicalId);
    const again = await decide<{ identity: { canonicalId: string } }>(client(), { identifiers: { email } }, [
      FLAG,
    ]);
    expect(again.body.identity.canonicalId).toBe(first.body.identity.canonicalId);
    // Segment then sees them by email only: their profile gets the same digest as experiment id.
    await segment([event({ type: 'identify', anonymousId: `by-email-${run}`, traits: { email } })]);
    const known = await decide<{ identity: { canonicalId: string; source: string } }>(
      client(),
      { identifiers: { email } },
      [FLAG],
    );
    expect(known.body.identity).toMatchObject({ source: 'cache' });
  });
});
