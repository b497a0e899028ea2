/**
 * Event delivery end to end through the local server (as `npm start` runs it: events stored before
 * the answer, the relay on the table's stream, the redelivery function on a loop against DynamoDB
 * Local), with a loopback event API that can go down.
 *
 * Time is compressed: redelivery backs off from 200 ms (EVENT_RETRY_BASE_MS; 60 s deployed) up to
 * 800 ms (10 min deployed) and the loop runs every 100 ms (the schedule runs every minute), so the
 * issue's 60-second outage is played in about 3 seconds and every stored batch is still retried
 * several times while the endpoint is down. Every event the SDK produced is recorded at the
 * dispatcher, so "arrived exactly once" is checked by uuid against what was produced, not against
 * what happened to reach the endpoint. No wall-clock assertion: only outcomes and counts.
 *
 * The network faults (the fault proxy in front of the event API: down, slow, resetting) run under
 * concurrent load; there the outage lasts FAULT_EVENT_OUTAGE_MS (default 6 s, 60 s in the issue)
 * and the slow phase answers each POST 2.5 s late. "No invocation held past its timeout" is
 * measured where it happens: how long each piece of work deferred past an answer ran.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  type Outcome,
  postDecide,
  postTrack,
  runAtConcurrency,
  summarize,
  type TrafficTarget,
} from '../../../bench/lib/traffic';
import { functionTimeoutMs } from '../../../src/platform/routes';
import { SAMPLE_DATAFILE_PATH } from '../../support/agent';
import { startTestApp, type TestApp } from '../../support/app';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { arrivals as arrivalsIn, recordProduced } from '../../support/events';
import { type FaultProxy, PASS, type ProxyMode, startFaultProxy } from '../../support/fault-proxy';
import { eventually, pause, watchUnhandledRejections } from '../../support/load';
import { startTestOptimizely, type TestOptimizely } from '../../support/optimizely';
import { outboxUuids } from '../../support/outbox';

// Hooks and tests alike: the outage is played for seconds and the redelivery loop drains it.
jest.setTimeout(120_000);

const OUTAGE_MS = 3_000;
const PROXY_OUTAGE_MS = Number(process.env.FAULT_EVENT_OUTAGE_MS ?? 6_000);

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

/** How many times each uuid reached the event endpoint. */
const arrivals = () => arrivalsIn(optimizely!.optimizely.batches);

async function post(app: TestApp, path: string, body: unknown): Promise<number> {
  const response = await fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.text();
  return response.status;
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
    // The whole outage window, and at least 6 rounds however slow a busy machine makes them.
    for (let i = 0; i < 6 || Date.now() < outageEnds; i++) {
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

describe('a process killed right after every answer', () => {
  let app: TestApp | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function traffic(target: TestApp, prefix: string): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const userId = `${prefix}-${run}-${i}`;
      statuses.push(
        await post(target, '/v1/decide?keys=search_ranking', { userId }),
        await post(target, '/v1/track?eventKey=purchase', { userId, eventTags: { revenue: 1 } }),
      );
    }
    return statuses;
  }

  it('loses no event: decisions and conversions are stored before the answer, and the relay sends them', async () => {
    // The local server's simulation: deferred work is dropped instead of run, as a kill would. The
    // relay owns an item until it is due (src/events/relay.ts): with the compressed 200 ms backoff a
    // busy machine let items fall due before the relay saw them, and it rightly left them to the
    // redelivery function (not run here). The deployed 60 s leaves them the relay's, as in AWS.
    app = await startTestApp(
      { ...settings(), EVENT_RETRY_BASE_MS: '60000', EVENT_RETRY_MAX_MS: '600000' },
      {},
      {
        dropDeferredWork: true,
      },
    );
    const produced = recordProduced(app);
    optimizely!.optimizely.batches.length = 0;
    optimizely!.optimizely.eventStatus = 200;

    const statuses = await traffic(app, 'killed');
    await app.server.idle();

    expect(new Set(statuses)).toEqual(new Set([200]));
    const all = [...produced.decisions, ...produced.conversions];
    expect(produced.decisions.size).toBe(5);
    const counts = arrivals();
    expect(all.map((uuid) => counts.get(uuid))).toEqual(all.map(() => 1));
    expect(await outboxUuids(table!)).toEqual([]);
    // Many visitors per event API request: five decides and five tracks, in fewer POSTs.
    expect(optimizely!.optimizely.batches.length).toBeLessThan(all.length);
  });

  it('with the relay down too, the redelivery function sends every stored event when it is due', async () => {
    app = await startTestApp(settings(), {}, { dropDeferredWork: true, relay: false });
    const produced = recordProduced(app);
    optimizely!.optimizely.batches.length = 0;
    optimizely!.optimizely.eventStatus = 200;
    const before = optimizely!.optimizely.received.visitors;

    const statuses = await traffic(app, 'killed-no-relay');
    await app.server.idle();

    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(optimizely!.optimizely.received.visitors - before).toBe(0);
    const all = [...produced.decisions, ...produced.conversions];
    expect((await outboxUuids(table!)).sort()).toEqual([...all].sort());

    // The redelivery function finds them once they are due (the first backoff after storing).
    await eventually(async () => {
      await app!.redeliverNow();
      return (await outboxUuids(table!)).length === 0;
    });
    const counts = arrivals();
    expect(all.map((uuid) => counts.get(uuid))).toEqual(all.map(() => 1));
  });
});

describe('an item the relay sees past its due time', () => {
  let app: TestApp | undefined;

  afterAll(async () => {
    await app?.close();
  });

  // What the DynamoDB outage fault test met on CI (3 of 477 decision events "lost" without a count):
  // on a busy machine the outbox write and the stream poll took longer than the compressed 200 ms
  // backoff, the relay rightly left the item to the redelivery function, and the test read the sink
  // when the server was idle, before that ran. Here every item is due 1 ms after it is stored.
  it('is not at the sink when the server is idle: it waits in the outbox, and arrives once redelivery runs', async () => {
    app = await startTestApp({ ...settings(), EVENT_RETRY_BASE_MS: '1' });
    const produced = recordProduced(app);
    optimizely!.optimizely.batches.length = 0;
    optimizely!.optimizely.eventStatus = 200;

    expect(await post(app, '/v1/decide?keys=search_ranking', { userId: `late-${run}` })).toBe(200);
    await app.server.idle();

    const decisions = [...produced.decisions];
    expect(decisions).toHaveLength(1);
    expect(app.stream?.totals.items).toBe(1);
    expect(app.stream?.totals.delivered).toBe(0);
    expect(arrivals().size).toBe(0);
    expect(await outboxUuids(table!)).toEqual(decisions);

    await eventually(async () => {
      await app!.redeliverNow();
      return (await outboxUuids(table!)).length === 0;
    });
    const counts = arrivals();
    expect(decisions.map((uuid) => counts.get(uuid))).toEqual([1]);
  });
});

describe('the event API down, slow and resetting (fault proxy), under concurrent load', () => {
  let app: TestApp | undefined;
  let proxy: FaultProxy | undefined;

  afterAll(async () => {
    await app?.close();
    await proxy?.close();
  });

  it('answers every decide and track, holds no invocation past its timeout, and delivers every event', async () => {
    proxy = await startFaultProxy(optimizely!.url);
    app = await startTestApp(
      { ...settings(), API_KEYS: 'outage-key', OPTIMIZELY_EVENT_ENDPOINT: `${proxy.url}/v1/events` },
      {},
      { redeliveryLoop: true },
    );
    const produced = recordProduced(app);
    optimizely!.optimizely.batches.length = 0;
    // How long each piece of work deferred past an answer runs: what it holds the invocation open for.
    const held: number[] = [];
    const afterResponse = app.decide.afterResponse;
    const defer = afterResponse.defer.bind(afterResponse);
    afterResponse.defer = (work) =>
      defer(async () => {
        const started = Date.now();
        try {
          return await work();
        } finally {
          held.push(Date.now() - started);
        }
      });
    const unhandled = watchUnhandledRejections();
    const target: TrafficTarget = { url: app.url, apiKey: 'outage-key', segmentToken: '' };
    const phases: { name: string; mode: ProxyMode; ms: number }[] = [
      { name: 'down', mode: { kind: 'blackhole' }, ms: PROXY_OUTAGE_MS },
      { name: 'slow', mode: { kind: 'latency', ms: 2_500 }, ms: 5_000 },
      { name: 'resetting', mode: { kind: 'reset' }, ms: 3_000 },
    ];
    const windows: Record<string, { from: number; to: number }> = {};
    const answers: Outcome[] = [];
    let stopped = false;
    try {
      const load = Promise.all([
        runAtConcurrency(
          3,
          (i) => postDecide(target, { userId: `proxy-${run}-${i % 40}` }),
          () => stopped,
          (o) => answers.push(o),
          // Paced: the outbox a fault fills is drained by one redelivery loop here, not by Lambda.
          25,
        ),
        runAtConcurrency(
          1,
          (i) => postTrack(target, `proxy-${run}-${i % 40}`, i),
          () => stopped,
          (o) => answers.push(o),
          25,
        ),
      ]);
      await pause(1_000);
      for (const phase of phases) {
        const from = Date.now();
        proxy.set(phase.mode);
        await pause(phase.ms);
        proxy.set(PASS);
        windows[phase.name] = { from, to: Date.now() };
        await pause(1_000);
      }
      stopped = true;
      await load;
      await app.server.idle();

      const all = new Set([...produced.decisions, ...produced.conversions]);
      // Polled gently: reading the whole outbox competes with the redelivery loop draining it.
      await eventually(
        async () =>
          [...all].every((uuid) => arrivals().has(uuid)) && (await outboxUuids(table!)).length === 0,
        90_000,
        1_000,
      );

      // Answers unaffected: every one 200, within the function's timeout.
      expect(summarize(answers).byStatus).toEqual({ 200: answers.length });
      expect(summarize(answers).maxMs).toBeLessThan(functionTimeoutMs('agent-api'));
      // No flush held an invocation past its timeout (the send timeout counts from the socket, and
      // the request's deadline bounds the wait for one).
      expect(Math.max(...held)).toBeLessThan(functionTimeoutMs('agent-api'));
      // 0 events lost: every event produced arrived; anything else that arrived is a produced
      // event again (a duplicate by uuid, which Optimizely discards).
      const counts = arrivals();
      expect([...all].filter((uuid) => !counts.has(uuid))).toEqual([]);
      expect([...counts.keys()].filter((uuid) => !all.has(uuid))).toEqual([]);
      expect(await outboxUuids(table!)).toEqual([]);
      expect(unhandled.rejections).toEqual([]);

      if (process.env.FAULT_REPORT) {
        const inPhase = (name: string) => (o: Outcome) =>
          o.startedAt >= windows[name]!.from && o.startedAt + o.ms <= windows[name]!.to;
        process.stderr.write(
          `${JSON.stringify({
            fault: 'event-api',
            phases: Object.fromEntries(
              phases.map((p) => [p.name, summarize(answers.filter(inPhase(p.name)))]),
            ),
            produced: all.size,
            duplicates: [...counts.values()].filter((n) => n > 1).length,
            heldMaxMs: Math.max(...held),
            redelivered: app.loop?.totals.redelivered,
          })}\n`,
        );
      }
    } finally {
      stopped = true;
      proxy.set(PASS);
      unhandled.stop();
    }
  });
});
