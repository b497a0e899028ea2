/**
 * The request path of Optimizely events (src/events/delivery.ts) and the relay (src/events/relay.ts)
 * on an in-memory outbox and a scripted event API: decide and track answer once their events are
 * stored, without sending anything; the relay sends what was stored, merged, and deletes it; what the
 * outbox cannot take is sent instead, and only a failure to both store and deliver a conversion
 * reaches the caller.
 */
import { describe, expect, it } from '@jest/globals';
import { createEventDelivery, type Deferral } from '../../../src/events/delivery';
import type { RedeliveryPolicy } from '../../../src/events/redelivery-policy';
import { relayStored } from '../../../src/events/relay';
import { DependencyUnavailableError } from '../../../src/platform/core/errors';
import {
  delivered,
  eventBatch,
  recordingObservability,
  refused,
  ScriptedSender,
  unavailable,
} from '../../support/events';
import { InMemoryEventOutbox } from '../../support/outbox';

const policy: RedeliveryPolicy = { retryBaseMs: 60_000, retryMaxMs: 600_000, maxAgeMs: 24 * 3_600_000 };
const NOW = 1_800_000_000_000;

/** A deferral that keeps the work until the test runs it, as the extension runs it after the answer. */
function heldDeferral(
  available = true,
): Deferral & { held: (() => Promise<unknown>)[]; run(): Promise<void> } {
  const held: (() => Promise<unknown>)[] = [];
  return {
    available,
    held,
    defer: (work) => held.push(work),
    run: async () => {
      for (const work of held.splice(0)) await work();
    },
  };
}

function setup(outcomes = [delivered], available = true, storeTimeoutMs?: number) {
  const sender = new ScriptedSender(outcomes);
  const outbox = new InMemoryEventOutbox();
  const deferral = heldDeferral(available);
  const observability = recordingObservability();
  let now = NOW;
  const delivery = createEventDelivery({
    sender,
    outbox,
    deferral,
    policy,
    observability,
    clock: () => now,
    ...(storeTimeoutMs === undefined ? {} : { storeTimeoutMs }),
  });
  return { sender, outbox, deferral, observability, delivery, advance: (ms: number) => (now += ms) };
}

describe('decision events', () => {
  it('are stored for the relay before the answer; nothing is sent or deferred', async () => {
    const { delivery, sender, deferral, outbox } = setup();
    await delivery.beforeDecideAnswer([eventBatch(['d1', 'd2'])]);
    expect(outbox.uuids()).toEqual(['d1', 'd2']);
    expect(sender.sent).toHaveLength(0);
    expect(deferral.held).toHaveLength(0);
    // Due for redelivery only after the first backoff: until then the relay's.
    expect([...outbox.items.values()][0]!.dueAt).toBeGreaterThan(NOW + policy.retryBaseMs / 2 - 1);
  });

  it('take no step at all when there are none', async () => {
    const { delivery, outbox, deferral } = setup();
    await delivery.beforeDecideAnswer([]);
    expect(outbox.items.size).toBe(0);
    expect(deferral.held).toHaveLength(0);
  });

  it('are sent after the answer when the outbox cannot take them, and counted lost only when that fails too', async () => {
    const { delivery, sender, deferral, outbox, observability } = setup([unavailable]);
    outbox.failPuts = true;
    await delivery.beforeDecideAnswer([eventBatch(['d3'])]);
    expect(sender.sent).toHaveLength(0);
    await deferral.run();
    expect(sender.sent).toHaveLength(1);
    expect(observability.counted.EventsLost).toBe(1);
  });

  it('wait for the outbox no longer than their budget, then are sent after the answer, flagged as failed open', async () => {
    const { delivery, sender, deferral, outbox, observability } = setup([delivered], true, 20);
    // An outbox write that never answers (DynamoDB unreachable, its client still retrying).
    outbox.put = () => new Promise<never>(() => {});
    await delivery.beforeDecideAnswer([eventBatch(['d5'])]);
    expect(sender.sent).toHaveLength(0);
    expect(deferral.held).toHaveLength(1);
    expect(observability.counted.DecideFailedOpen).toBe(1);
    await deferral.run();
    expect(sender.sent).toHaveLength(1);
    expect(observability.counted.EventsDelivered).toBe(1);
  });

  it('within their budget are stored as usual', async () => {
    const { delivery, deferral, outbox, observability } = setup([delivered], true, 5_000);
    await delivery.beforeDecideAnswer([eventBatch(['d6'])]);
    expect(outbox.uuids()).toEqual(['d6']);
    expect(deferral.held).toHaveLength(0);
    expect(observability.counted.DecideFailedOpen).toBeUndefined();
  });

  it('are sent before the answer when no deferral is available and the outbox failed', async () => {
    const { delivery, sender, outbox, observability } = setup([delivered], false);
    outbox.failPuts = true;
    await delivery.beforeDecideAnswer([eventBatch(['d4'])]);
    expect(sender.sent).toHaveLength(1);
    expect(observability.counted.EventsDelivered).toBe(1);
  });
});

describe('conversion events', () => {
  it('are stored before the answer and not sent by the request', async () => {
    const { delivery, sender, outbox, deferral } = setup();
    await delivery.beforeTrackAnswer([eventBatch(['t1'])]);
    expect(outbox.uuids()).toEqual(['t1']);
    expect(sender.sent).toHaveLength(0);
    expect(deferral.held).toHaveLength(0);
  });

  it('are delivered before answering when they cannot be stored', async () => {
    const { delivery, sender, outbox } = setup();
    outbox.failPuts = true;
    await delivery.beforeTrackAnswer([eventBatch(['t2'])]);
    expect(sender.sent).toHaveLength(1);
  });

  it('wait for the outbox no longer than their budget, then are delivered before the answer', async () => {
    const { delivery, sender, deferral, outbox, observability } = setup([delivered], true, 20);
    // An outbox write that never answers (DynamoDB hanging, not refusing): the track still has time to deliver.
    outbox.put = () => new Promise<never>(() => {});
    await delivery.beforeTrackAnswer([eventBatch(['t6'])]);
    expect(sender.sent).toHaveLength(1);
    expect(deferral.held).toHaveLength(0);
    expect(observability.counted.EventsDelivered).toBe(1);
    // Not a decide's fail-open.
    expect(observability.counted.DecideFailedOpen).toBeUndefined();
  });

  it('fail the request only when they can be neither stored nor delivered', async () => {
    const { delivery, outbox } = setup([unavailable]);
    outbox.failPuts = true;
    await expect(delivery.beforeTrackAnswer([eventBatch(['t3'])])).rejects.toThrow(
      DependencyUnavailableError,
    );
  });

  it('refused for good while the outbox is down are dropped, not retried by the caller', async () => {
    const { delivery, outbox, observability } = setup([refused]);
    outbox.failPuts = true;
    await delivery.beforeTrackAnswer([eventBatch(['t4'])]);
    expect(observability.counted.EventsDropped).toBe(1);
  });
});

describe('the relay', () => {
  async function stored(uuids: string[][]) {
    const context = setup();
    for (const group of uuids) await context.delivery.beforeDecideAnswer([eventBatch(group)]);
    return context;
  }

  it('sends the stored batches merged into one request, then deletes them', async () => {
    const { outbox, sender, observability } = await stored([['r1'], ['r2', 'r3'], ['r4']]);
    const report = await relayStored({ outbox, sender, observability, clock: () => NOW + 1_000 }, [
      ...outbox.items.values(),
    ]);
    expect(sender.sent.map((b) => b.visitors.length)).toEqual([4]);
    expect(report).toMatchObject({ items: 3, posts: 1, visitors: 4, delivered: 4, late: 0 });
    expect(outbox.items.size).toBe(0);
    expect(observability.counted.EventsDelivered).toBe(4);
  });

  it('leaves what the event API did not take for the redelivery function', async () => {
    const { outbox, sender, observability } = await stored([['r5'], ['r6']]);
    sender.outcomes = [unavailable];
    const report = await relayStored({ outbox, sender, observability, clock: () => NOW + 1_000 }, [
      ...outbox.items.values(),
    ]);
    expect(report.deferred).toBe(2);
    expect(outbox.uuids().sort()).toEqual(['r5', 'r6']);
  });

  it('deletes what the event API refused for good, counted as dropped', async () => {
    const { outbox, sender, observability } = await stored([['r7']]);
    sender.outcomes = [refused];
    await relayStored({ outbox, sender, observability, clock: () => NOW + 1_000 }, [
      ...outbox.items.values(),
    ]);
    expect(outbox.items.size).toBe(0);
    expect(observability.counted.EventsDropped).toBe(1);
  });

  it('skips items already due: they are the redelivery function’s', async () => {
    const { outbox, sender, observability } = await stored([['r8']]);
    const report = await relayStored(
      { outbox, sender, observability, clock: () => NOW + policy.retryBaseMs + 1 },
      [...outbox.items.values()],
    );
    expect(report).toMatchObject({ late: 1, posts: 0 });
    expect(sender.sent).toHaveLength(0);
    expect(outbox.uuids()).toEqual(['r8']);
  });

  it('keeps delivered items whose delete failed (redelivered later: a duplicate by uuid)', async () => {
    const { outbox, sender, observability } = await stored([['r9']]);
    outbox.failRemoves = true;
    const report = await relayStored({ outbox, sender, observability, clock: () => NOW + 1_000 }, [
      ...outbox.items.values(),
    ]);
    expect(report.delivered).toBe(1);
    expect(outbox.uuids()).toEqual(['r9']);
  });
});

describe('a request of many operations (gathered)', () => {
  it('stores its operations’ decision events once, merged, before it answers', async () => {
    const { delivery, sender, outbox } = setup();
    const answer = await delivery.gathered(async () => {
      for (let i = 0; i < 20; i++) {
        await delivery.beforeDecideAnswer([eventBatch([`d${i}`])]);
        await delivery.beforeTrackAnswer([eventBatch([`t${i}`])]);
      }
      // Each conversion is stored before its operation answers; decisions wait for the end.
      expect(outbox.items.size).toBe(20);
      return 'answered';
    });
    expect(answer).toBe('answered');
    expect(outbox.items.size).toBe(21);
    expect(sender.sent).toHaveLength(0);
  });

  it('keeps requests apart: a request outside the gathering stores on its own', async () => {
    const { delivery, outbox } = setup();
    let release: () => void = () => undefined;
    const gathering = delivery.gathered(
      () =>
        new Promise<void>((resolve) => {
          void delivery.beforeDecideAnswer([eventBatch(['inside'])]);
          release = resolve;
        }),
    );
    await Promise.resolve().then(() => delivery.beforeDecideAnswer([eventBatch(['outside'])]));
    expect(outbox.uuids()).toEqual(['outside']);
    release();
    await gathering;
    expect(outbox.uuids()).toEqual(['outside', 'inside']);
  });
});
