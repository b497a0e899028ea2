/**
 * The limiter shared by every container (src/profile-api/dynamodb/rate-limiter.ts), on DynamoDB Local: at
 * most PROFILE_API_MAX_RPS permits in any one-second window, across containers, bursts included.
 * Time is injected (near the real clock: slot items expire by TTL a minute after their slot), so the
 * windows are exact.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { seededRandom } from '../../../bench/fixtures/segment-events';
import { DynamoDbRateLimiter, slotPlan } from '../../../src/profile-api/dynamodb/rate-limiter';
import { createTestTable, type TestTable } from '../../support/dynamodb';

let table: TestTable | undefined;

beforeAll(async () => {
  table = await createTestTable('rate-limit');
});

afterAll(async () => {
  await table?.drop();
});

describe('slot plan', () => {
  it('never lets a one-second window overlap more slots than the maximum allows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 1000 }), (max) => {
        const { slotMs, perSlot } = slotPlan(max);
        expect(perSlot).toBeGreaterThanOrEqual(1);
        expect((Math.ceil(1000 / slotMs) + 1) * perSlot).toBeLessThanOrEqual(max);
      }),
    );
    expect(slotPlan(80)).toEqual({ slotMs: 250, perSlot: 16 });
    expect(() => slotPlan(1)).toThrow(RangeError);
  });
});

describe('DynamoDbRateLimiter', () => {
  const limiterAt = (name: string, clock: { now: number }, max = 80) =>
    new DynamoDbRateLimiter({
      client: table!.client,
      tableName: table!.tableName,
      name,
      maxPerSecond: max,
      now: () => clock.now,
    });

  it('shares one slot between containers, and opens the next slot', async () => {
    const clock = { now: Date.now() };
    const [a, b] = [limiterAt('one-space', clock), limiterAt('one-space', clock)];
    const granted = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).acquire(1)));
    expect(granted.filter(Boolean)).toHaveLength(16);
    expect(await a.acquire(1)).toBe(false);
    clock.now += 250;
    expect(await b.acquire(3)).toBe(true);
    expect(await a.acquire(14)).toBe(false);
    expect(await a.acquire(13)).toBe(true);
  });

  it('keeps any one-second window at the maximum, whatever the timing of the callers', async () => {
    const random = seededRandom(11);
    const clock = { now: Date.now() };
    const containers = Array.from({ length: 3 }, () => limiterAt('windows', clock, 10));
    const start = clock.now;
    const granted: number[] = [];
    for (let i = 0; i < 400; i++) {
      clock.now = start + Math.floor(random() * 8_000);
      // Callers ask in time order within a burst, as requests arrive.
      if (await containers[i % 3]!.acquire(1)) granted.push(clock.now);
    }
    granted.sort((x, y) => x - y);
    let worst = 0;
    for (let i = 0; i < granted.length; i++) {
      let j = i;
      while (j < granted.length && granted[j]! < granted[i]! + 1000) j++;
      worst = Math.max(worst, j - i);
    }
    expect(granted.length).toBeGreaterThan(40);
    expect(worst).toBeLessThanOrEqual(10);
  }, 30_000);
});
