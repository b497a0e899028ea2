/**
 * The request path of Optimizely events (src/events/delivery.ts) on an in-memory outbox and a
 * scripted event API: decide answers before anything is sent; track answers once its conversion is
 * stored; what fails is stored, what is refused is dropped, and only a failure to both store and
 * deliver a conversion reaches the caller.
 */
import { describe, expect, it } from '@jest/globals';
import { createEventDelivery, type Deferral } from '../../../src/events/delivery';
import type { RedeliveryPolicy } from '../../../src/events/redelivery-policy';
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

function setup(outcomes = [delivered], available = true) {
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
  });
  return { sender, outbox, deferral, observability, delivery, advance: (ms: number) => (now += ms) };
}

describe('decision events', () => {
  it('answers without sending anything, then delivers after the answer', async () => {
    const { delivery, sender, deferral, observability } = setup();

    expect(delivery.afterDecide([eventBatch(['d1', 'd2'])])).toBeUndefined();
    expect(sender.sent).toHaveLength(0);

    await deferral.run();
    expect(sender.sent).toHaveLength(1);
    expect(observability.counted).toEqual({ EventsDelivered: 2 });
  });

  it('takes no step at all for a request that dispatched nothing', () => {
    const { delivery, deferral } = setup();
    expect(delivery.afterDecide([])).toBeUndefined();
    expect(deferral.held).toHaveLength(0);
  });

  it('stores a batch the event API did not take, due after the first backoff and kept a day past the cut-off', async () => {
    const { delivery, deferral, outbox, observability } = setup([unavailable]);
    const batch = eventBatch(['d3'], NOW - 1_000);

    delivery.afterDecide([batch]);
    await deferral.run();

    const [stored] = [...outbox.items.values()];
    expect(stored?.batch).toEqual(batch);
    expect(stored?.dueAt).toBeGreaterThanOrEqual(NOW + policy.retryBaseMs / 2);
    expect(stored?.dueAt).toBeLessThanOrEqual(NOW + policy.retryBaseMs);
    expect(stored?.expiresAt).toBe(Math.ceil((NOW - 1_000 + policy.maxAgeMs + 86_400_000) / 1000));
    expect(observability.counted).toEqual({ EventsDeferred: 1 });
  });

  it('drops a batch the event API refuses (4xx), counted and logged, storing nothing', async () => {
    const { delivery, deferral, outbox, observability } = setup([refused]);

    delivery.afterDecide([eventBatch(['d4', 'd5'])]);
    await deferral.run();

    expect(outbox.items.size).toBe(0);
    expect(observability.counted).toEqual({ EventsDropped: 2 });
    expect(observability.logged).toContainEqual(
      expect.objectContaining({ level: 'error', message: 'events dropped: the event API refused them' }),
    );
  });

  it('counts events lost when neither the event API nor the outbox takes them', async () => {
    const { delivery, deferral, outbox, observability } = setup([unavailable]);
    outbox.failPuts = true;

    delivery.afterDecide([eventBatch(['d6'])]);
    await expect(deferral.run()).resolves.toBeUndefined();

    expect(observability.counted).toEqual({ EventsLost: 1 });
  });

  it('hands back the same work to await before answering when no extension holds the invocation', async () => {
    const { delivery, deferral, sender, observability } = setup([delivered], false);

    const delivering = delivery.afterDecide([eventBatch(['d7'])]);

    expect(delivering).toBeInstanceOf(Promise);
    await delivering;
    expect(deferral.held).toHaveLength(0);
    expect(sender.sent).toHaveLength(1);
    expect(observability.counted).toEqual({ EventsDelivered: 1 });
  });
});

describe('conversion events', () => {
  it('are stored before the answer, delivered after it, and then removed from the outbox', async () => {
    const { delivery, deferral, outbox, sender, observability } = setup();

    await delivery.beforeTrackAnswer([eventBatch(['t1'])]);
    expect(outbox.uuids()).toEqual(['t1']);
    expect(sender.sent).toHaveLength(0);

    await deferral.run();
    expect(outbox.uuids()).toEqual([]);
    expect(observability.counted).toEqual({ EventsDelivered: 1 });
  });

  it('stay in the outbox when the event API fails, and are removed when it refuses them', async () => {
    const failing = setup([unavailable]);
    await failing.delivery.beforeTrackAnswer([eventBatch(['t2'])]);
    await failing.deferral.run();
    expect(failing.outbox.uuids()).toEqual(['t2']);
    expect(failing.observability.counted).toEqual({ EventsDeferred: 1 });

    const refusing = setup([refused]);
    await refusing.delivery.beforeTrackAnswer([eventBatch(['t3'])]);
    await refusing.deferral.run();
    expect(refusing.outbox.uuids()).toEqual([]);
    expect(refusing.observability.counted).toEqual({ EventsDropped: 1 });
  });

  it('are delivered before the answer when they cannot be stored', async () => {
    const { delivery, deferral, outbox, sender, observability } = setup();
    outbox.failPuts = true;

    await delivery.beforeTrackAnswer([eventBatch(['t4'])]);

    expect(sender.sent).toHaveLength(1);
    expect(deferral.held).toHaveLength(0);
    expect(observability.counted).toEqual({ EventsDelivered: 1 });
  });

  it('make the track fail (retryably) only when they can be neither stored nor delivered', async () => {
    const { delivery, outbox } = setup([unavailable]);
    outbox.failPuts = true;

    await expect(delivery.beforeTrackAnswer([eventBatch(['t5'])])).rejects.toThrow(
      DependencyUnavailableError,
    );
  });

  it('are delivered before the answer, after being stored, when no extension holds the invocation', async () => {
    const { delivery, deferral, outbox, sender } = setup([delivered], false);

    await delivery.beforeTrackAnswer([eventBatch(['t6'])]);

    expect(deferral.held).toHaveLength(0);
    expect(sender.sent).toHaveLength(1);
    expect(outbox.uuids()).toEqual([]);
  });
});

describe('a failing event API', () => {
  it('is left alone for a while after failures in a row: events go straight to the outbox', async () => {
    const { delivery, deferral, sender, outbox, advance } = setup([unavailable]);
    for (const uuid of ['f1', 'f2', 'f3']) delivery.afterDecide([eventBatch([uuid])]);
    await deferral.run();
    expect(sender.sent).toHaveLength(3);

    delivery.afterDecide([eventBatch(['f4'])]);
    await delivery.beforeTrackAnswer([eventBatch(['f5'])]);
    await deferral.run();
    expect(sender.sent).toHaveLength(3);
    expect(outbox.uuids().sort()).toEqual(['f1', 'f2', 'f3', 'f4', 'f5']);

    advance(policy.retryBaseMs);
    sender.outcomes = [delivered];
    delivery.afterDecide([eventBatch(['f6'])]);
    await deferral.run();
    expect(sender.sent).toHaveLength(4);
  });

  it('is tried anyway while paused when the outbox cannot take the events either', async () => {
    const { delivery, deferral, sender, outbox, observability } = setup([unavailable]);
    for (const uuid of ['p1', 'p2', 'p3']) delivery.afterDecide([eventBatch([uuid])]);
    await deferral.run();
    // Paused now; the event API is back, DynamoDB is down.
    sender.outcomes = [delivered];
    outbox.failPuts = true;
    await delivery.beforeTrackAnswer([eventBatch(['p4'])]);
    delivery.afterDecide([eventBatch(['p5'])]);
    await deferral.run();
    expect(sender.sent.flatMap((b) => b.visitors.map((v) => v.visitor_id)).slice(3)).toEqual([
      'visitor-p4',
      'visitor-p5',
    ]);
    expect(observability.counted.EventsLost).toBeUndefined();
  });
});

describe('a request of many operations (gathered)', () => {
  it('holds its operations’ events and delivers them once, merged, after the work is done', async () => {
    const { delivery, sender, deferral, outbox } = setup();
    const answer = await delivery.gathered(async () => {
      for (let i = 0; i < 20; i++) {
        expect(delivery.afterDecide([eventBatch([`d${i}`])])).toBeUndefined();
        await delivery.beforeTrackAnswer([eventBatch([`t${i}`])]);
      }
      // Each conversion is stored before its operation answers; nothing is sent meanwhile.
      expect(outbox.items.size).toBe(20);
      expect(sender.sent).toHaveLength(0);
      return 'answered';
    });
    expect(answer).toBe('answered');
    expect(sender.sent).toHaveLength(0);
    await deferral.run();
    // One POST for the decisions, one for the conversions (same envelope, kept apart by kind of flush).
    expect(sender.sent.map((b) => b.visitors.length)).toEqual([20, 20]);
    // Delivered: every stored copy the merged conversions were made of is removed.
    expect(outbox.items.size).toBe(0);
  });

  it('leaves every stored conversion for redelivery when the merged send fails', async () => {
    const { delivery, deferral, outbox } = setup([unavailable]);
    await delivery.gathered(async () => {
      await delivery.beforeTrackAnswer([eventBatch(['t1'])]);
      await delivery.beforeTrackAnswer([eventBatch(['t2'])]);
    });
    await deferral.run();
    expect(outbox.items.size).toBe(2);
  });

  it('keeps requests apart: a request outside the gathering delivers on its own', async () => {
    const { delivery, sender, deferral } = setup();
    let release: () => void = () => undefined;
    const gathering = delivery.gathered(
      () =>
        new Promise<void>((resolve) => {
          delivery.afterDecide([eventBatch(['inside'])]);
          release = resolve;
        }),
    );
    await Promise.resolve().then(() => delivery.afterDecide([eventBatch(['outside'])]));
    await deferral.run();
    expect(sender.sent.flatMap((b) => b.visitors.map((v) => v.visitor_id))).toEqual(['visitor-outside']);
    release();
    await gathering;
    await deferral.run();
    expect(sender.sent.flatMap((b) => b.visitors.map((v) => v.visitor_id))).toEqual([
      'visitor-outside',
      'visitor-inside',
    ]);
  });
});
