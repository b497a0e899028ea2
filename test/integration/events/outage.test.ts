/**
 * Event delivery end to end through the local server (as `npm start` runs it: answer first, flush
 * after, the redelivery function on a loop against DynamoDB Local), with a loopback event API that
 * can go down.
 *
 * Time is compressed: redelivery backs off from 200 ms (EVENT_RETRY_BASE_MS; 60 s deployed) up to
 * 800 ms (10 min deployed) and the loop runs every 100 ms (the schedule runs every minute), so the
 * issue's 60-second outage is played in about 3 seconds and every stored batch is still retried
 * several times while the endpoint is down. Every event the SDK produced is recorded at the
 * dispatcher, so "arrived exactly once" is checked by uuid against what was produced, not against
 * what happened to reach the endpoint. No wall-clock assertion: only outcomes and counts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { eventUuids } from '../../../functions/events/event-batch';
import type { LogEvent } from '../../../functions/optimizely/sdk';
import { startTestApp, type TestApp } from '../../support/app';
import { SAMPLE_DATAFILE_PATH } from '../../support/decisions';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../../support/optimizely';
import { outboxUuids } from '../../support/outbox';

// Hooks and tests alike: the outage is played for seconds and the redelivery loop drains it.
jest.setTimeout(60_000);

const OUTAGE_MS = 3_000;

let table: TestTable | undefined;
let optimizely: TestOptimizely | undefined;
const run = randomUUID().slice(0, 8);

beforeAll(async () => {
  [table, optimizely] = await Promise.all([createTestTable('outage'), startTestOptimizely()]);
});

afterAll(async () => {
  try {
    optimizely?.assertNoPersonalData();
  } finally {
    await optimizely?.close();
    await table?.drop();
  }
});

function settings(): Record<string, string> {
  return {
    TABLE_NAME: table!.tableName,
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE_PATH,
    OPTIMIZELY_EVENT_ENDPOINT: optimizely!.eventEndpoint,
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: optimizely!.datafileUrlTemplate,
    EVENT_RETRY_BASE_MS: '200',
    EVENT_RETRY_MAX_MS: '800',
    EVENT_REDELIVERY_INTERVAL_MS: '100',
  };
}

/** Every event uuid the app's SDK clients produce, recorded as they are dispatched. */
function recordProduced(app: TestApp): { decisions: Set<string>; conversions: Set<string> } {
  const produced = { decisions: new Set<string>(), conversions: new Set<string>() };
  const dispatcher = app.decide.decisions.dispatcher;
  const dispatch = dispatcher.dispatchEvent.bind(dispatcher);
  dispatcher.dispatchEvent = (event: LogEvent) => {
    for (const visitor of event.params.visitors)
      for (const snapshot of visitor.snapshots)
        for (const e of snapshot.events)
          (e.key === 'campaign_activated' ? produced.decisions : produced.conversions).add(e.uuid);
    return dispatch(event);
  };
  return produced;
}

/** How many times each uuid reached the event endpoint. */
function arrivals(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const batch of optimizely!.optimizely.batches)
    for (const uuid of eventUuids(batch as never)) counts.set(uuid, (counts.get(uuid) ?? 0) + 1);
  return counts;
}

async function post(app: TestApp, path: string, body: unknown): Promise<number> {
  const response = await fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.text();
  return response.status;
}

/** Polls `check` until it holds or `ms` pass; returns whether it held. */
async function eventually(check: () => Promise<boolean> | boolean, ms = 30_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((done) => setTimeout(done, 50));
  }
  return check();
}

describe('an event API outage', () => {
  let app: TestApp | undefined;

  afterAll(async () => {
    await app?.close();
  });

  it('costs no track a 503, and every event produced arrives exactly once after recovery', async () => {
    app = await startTestApp(settings(), {}, { redeliveryLoop: true });
    const produced = recordProduced(app);
    optimizely!.optimizely.batches.length = 0;
    optimizely!.optimizely.eventStatus = 503;
    const before = optimizely!.optimizely.received.visitors;

    const statuses: number[] = [];
    const outageEnds = Date.now() + OUTAGE_MS;
    for (let i = 0; Date.now() < outageEnds; i++) {
      const userId = `outage-${run}-${i}`;
      statuses.push(
        await post(app, '/v1/decide?keys=search_ranking&keys=checkout_redesign', {
          userId,
          userAttributes: { plan: 'pro' },
        }),
        await post(app, '/v1/track?eventKey=purchase', { userId, eventTags: { revenue: 100 + i } }),
      );
    }
    await app.server.idle();
    const storedDuringOutage = (await outboxUuids(table!)).length;
    const reachedDuringOutage = optimizely!.optimizely.received.visitors - before;

    optimizely!.optimizely.eventStatus = 200;
    const all = new Set([...produced.decisions, ...produced.conversions]);
    await eventually(
      async () => [...all].every((uuid) => arrivals().has(uuid)) && (await outboxUuids(table!)).length === 0,
    );

    expect(statuses.length).toBeGreaterThan(10);
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(reachedDuringOutage).toBe(0);
    expect(storedDuringOutage).toBe(all.size);
    expect(produced.decisions.size).toBeGreaterThan(0);
    expect(produced.conversions.size).toBe(statuses.length / 2);
    const counts = arrivals();
    expect([...all].filter((uuid) => counts.get(uuid) !== 1)).toEqual([]);
    expect([...counts.keys()].filter((uuid) => !all.has(uuid))).toEqual([]);
    expect(await outboxUuids(table!)).toEqual([]);
    expect(app.loop?.totals.redelivered).toBe(all.size);
  });
});

describe('a process killed between the answer and the flush', () => {
  let app: TestApp | undefined;

  afterAll(async () => {
    await app?.close();
  });

  it('loses no conversion (stored before the answer) and loses the decision events of that window', async () => {
    // The local server's simulation: deferred work is dropped instead of run, as a kill would.
    app = await startTestApp(settings(), {}, { dropDeferredWork: true });
    const produced = recordProduced(app);
    optimizely!.optimizely.batches.length = 0;
    optimizely!.optimizely.eventStatus = 200;
    const before = optimizely!.optimizely.received.visitors;

    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const userId = `killed-${run}-${i}`;
      statuses.push(
        await post(app, '/v1/decide?keys=search_ranking', { userId }),
        await post(app, '/v1/track?eventKey=purchase', { userId, eventTags: { revenue: 1 } }),
      );
    }
    await app.server.idle();

    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(optimizely!.optimizely.received.visitors - before).toBe(0);
    expect((await outboxUuids(table!)).sort()).toEqual([...produced.conversions].sort());

    // The redelivery function finds them once they are due (the first backoff after storing).
    await eventually(async () => {
      await app!.redeliverNow();
      return (await outboxUuids(table!)).length === 0;
    });

    const counts = arrivals();
    expect([...produced.conversions].map((uuid) => counts.get(uuid))).toEqual(
      [...produced.conversions].map(() => 1),
    );
    // Decision events live only in memory until their flush: the kill took them (docs/events.md).
    expect(produced.decisions.size).toBe(5);
    expect([...produced.decisions].filter((uuid) => counts.has(uuid))).toEqual([]);
  });
});
