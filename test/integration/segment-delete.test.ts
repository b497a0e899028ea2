/**
 * A Segment delete removes everything derived from the person (issue 19, finding 4), through the
 * real local server: their saved bucketing (`UPS#`), their overrides (`OVERRIDE#`) and their events
 * still queued in the outbox are gone after the redelivery function's next run, which carries out
 * the erasure job the delete committed with its tombstones; another person's data stays.
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sendSegment } from '../../scripts/demo/client';
import { SAMPLE_DATAFILE } from '../../scripts/local/local-stack';
import { startTestApp, type TestApp } from '../support/app';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../support/optimizely';
import { outboxContents } from '../support/outbox';

const CLIENT = 'delete-client-key';
const ADMIN = 'delete-operator-key';
const run = randomUUID().slice(0, 8);
const GONE = { userId: `gone-${run}`, anonymousId: `anon-gone-${run}`, email: `gone.${run}@example.com` };
const STAYS = { userId: `stays-${run}`, anonymousId: `anon-stays-${run}` };

let table: TestTable | undefined;
let optimizely: TestOptimizely | undefined;
let app: TestApp | undefined;

beforeAll(async () => {
  [table, optimizely] = await Promise.all([createTestTable('segment-delete'), startTestOptimizely()]);
  app = await startTestApp({
    TABLE_NAME: table.tableName,
    API_KEYS: CLIENT,
    ADMIN_API_KEYS: ADMIN,
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_SDK_KEYS: '*',
    OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE,
    OPTIMIZELY_EVENT_ENDPOINT: optimizely.eventEndpoint,
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: optimizely.datafileUrlTemplate,
    USER_PROFILE_SERVICE: 'dynamodb',
    ENABLE_OVERRIDES: 'true',
  });
  optimizely.personal(GONE.email);
});

afterAll(async () => {
  try {
    await app?.server.idle();
    optimizely?.assertNoPersonalData();
  } finally {
    await app?.close();
    await optimizely?.close();
    await table?.drop();
  }
});

async function post(path: string, body: unknown, key = CLIENT) {
  const response = await fetch(`${app!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json().catch(() => null)) as unknown };
}

async function items(): Promise<{ pk: string; sk: string; userId?: string }[]> {
  const out: { pk: string; sk: string; userId?: string }[] = [];
  let start: Record<string, never> | undefined;
  do {
    const page = await table!.client.send(
      new ScanCommand({ TableName: table!.tableName, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    for (const item of page.Items ?? [])
      out.push({
        pk: item.pk?.S ?? '',
        sk: item.sk?.S ?? '',
        ...(item.userId?.S ? { userId: item.userId.S } : {}),
      });
    start = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return out;
}

const visitorsIn = async () =>
  (await outboxContents(table!)).flatMap((stored) => stored.batch.visitors.map((v) => v.visitor_id));

describe('a Segment delete', () => {
  it('erases the saved bucketing, the overrides and the queued events of the person, and nobody else’s', async () => {
    const at = new Date().toISOString();
    const seeded = await sendSegment({ url: app!.url }, [
      {
        type: 'identify',
        messageId: `seed-gone-${run}`,
        timestamp: at,
        userId: GONE.userId,
        anonymousId: GONE.anonymousId,
        traits: { email: GONE.email, plan: 'pro' },
      },
      {
        type: 'identify',
        messageId: `seed-stays-${run}`,
        timestamp: at,
        userId: STAYS.userId,
        anonymousId: STAYS.anonymousId,
      },
    ]);
    expect(seeded.body).toMatchObject({ accepted: 2 });

    // Derived data: sticky bucketing (a decide by email, and one by user id), an override, and
    // decision and conversion events queued while Optimizely's event API is down.
    optimizely!.optimizely.eventStatus = 503;
    for (const person of [GONE, STAYS]) {
      expect((await post('/v1/decide', { userId: person.userId })).status).toBe(200);
      expect((await post('/v1/track?eventKey=purchase', { userId: person.userId })).status).toBe(200);
    }
    expect((await post('/v1/decide', { identifiers: { email: GONE.email } })).status).toBe(200);
    const override = await post(
      '/v1/override',
      { userId: GONE.userId, experimentKey: 'checkout_redesign_test', variationKey: 'control' },
      ADMIN,
    );
    expect(override.status).toBe(200);
    await app!.server.idle();
    optimizely!.optimizely.eventStatus = 204;

    const before = await items();
    expect(before.filter((i) => i.pk === `UPS#local-sample#${GONE.anonymousId}`)).toHaveLength(1);
    expect(before.filter((i) => i.userId === GONE.anonymousId)).toHaveLength(1);
    expect(await visitorsIn()).toEqual(expect.arrayContaining([GONE.anonymousId, STAYS.anonymousId]));

    const deleted = await sendSegment(
      { url: app!.url },
      {
        type: 'delete',
        messageId: `delete-${run}`,
        userId: GONE.userId,
        timestamp: new Date().toISOString(),
      },
    );
    expect(deleted.status).toBe(200);
    // The follow-up was committed with the delete, and is durable until a run completes it.
    expect((await items()).filter((i) => i.pk === 'ERASE#')).toHaveLength(1);

    const report = await app!.redeliverNow();
    expect(report.erasure).toMatchObject({ jobs: 1, pending: 0, profiles: 1, overrides: 1 });
    expect(report.erasure!.events).toBeGreaterThanOrEqual(2);

    const after = await items();
    expect(after.filter((i) => i.pk === 'ERASE#')).toEqual([]);
    expect(after.filter((i) => i.pk.startsWith('UPS#') && i.pk.includes(GONE.anonymousId))).toEqual([]);
    expect(after.filter((i) => i.pk.startsWith('OVERRIDE#') && i.userId === GONE.anonymousId)).toEqual([]);
    expect(after.filter((i) => JSON.stringify(i).includes(GONE.email))).toEqual(
      // Only the tombstone of the email remains (docs/segment-setup.md#what-remains-after-a-delete).
      [expect.objectContaining({ sk: 'TOMB' })],
    );
    const visitors = await visitorsIn();
    expect(visitors).not.toContain(GONE.anonymousId);
    expect(visitors).toContain(STAYS.anonymousId);
    // The other person's bucketing stays.
    expect(after.filter((i) => i.pk === `UPS#local-sample#${STAYS.anonymousId}`)).toHaveLength(1);
  });

  it('does nothing, and says so, when no delete is waiting', async () => {
    expect((await app!.redeliverNow()).erasure).toEqual({
      jobs: 0,
      pending: 0,
      profiles: 0,
      overrides: 0,
      events: 0,
    });
  });
});
