/**
 * One run of the redelivery function (src/events/redelivery.ts) on an in-memory outbox: due
 * batches are claimed, sent and removed; failures wait for their next backoff; refused and too-old
 * batches are dropped; the oldest waiting event's age is reported.
 */
import { describe, expect, it } from '@jest/globals';
import { redeliverDue } from '../../../src/events/redelivery';
import type { RedeliveryPolicy } from '../../../src/events/redelivery-policy';
import {
  delivered,
  eventBatch,
  recordingObservability,
  refused,
  ScriptedSender,
  unavailable,
} from '../../support/events';
import { InMemoryEventOutbox } from '../../support/outbox';

const policy: RedeliveryPolicy = { retryBaseMs: 1_000, retryMaxMs: 8_000, maxAgeMs: 3_600_000 };
const NOW = 1_800_000_000_000;

async function stored(outbox: InMemoryEventOutbox, uuids: string[], dueAt: number, eventAt = NOW - 60_000) {
  await outbox.put([{ batch: eventBatch(uuids, eventAt), dueAt, expiresAt: 0 }]);
}

function run(outbox: InMemoryEventOutbox, sender: ScriptedSender, budgetMs = 30_000) {
  const observability = recordingObservability();
  return redeliverDue({ outbox, sender, policy, observability, clock: () => NOW }, { budgetMs }).then(
    (report) => ({ report, observability }),
  );
}

describe('redeliverDue', () => {
  it('sends what is due, removes it, and leaves what is not due yet', async () => {
    const outbox = new InMemoryEventOutbox();
    await stored(outbox, ['a', 'b'], NOW - 1);
    await stored(outbox, ['later'], NOW + 5_000);
    const sender = new ScriptedSender([delivered]);

    const { report, observability } = await run(outbox, sender);

    expect(report).toMatchObject({
      due: 1,
      redelivered: 2,
      stillUndelivered: 0,
      oldestUndeliveredAgeSeconds: 0,
    });
    expect(outbox.uuids()).toEqual(['later']);
    expect(observability.counted).toEqual({ EventsRedelivered: 2, OldestUndeliveredAgeSeconds: 0 });
  });

  it('moves a batch that fails again to its next backoff and reports the age of its oldest event', async () => {
    const outbox = new InMemoryEventOutbox();
    await stored(outbox, ['c'], NOW - 1, NOW - 90_000);
    const [item] = [...outbox.items.values()];
    outbox.items.set([...outbox.items.keys()][0]!, { ...item!, attempts: 2 });

    const { report, observability } = await run(outbox, new ScriptedSender([unavailable]));

    const [moved] = [...outbox.items.values()];
    expect(moved?.attempts).toBe(3);
    // Attempt 3: base·2² = 4 s, half jitter.
    expect(moved?.dueAt).toBeGreaterThanOrEqual(NOW + 2_000);
    expect(moved?.dueAt).toBeLessThanOrEqual(NOW + 4_000);
    expect(report).toMatchObject({ stillUndelivered: 1, oldestUndeliveredAgeSeconds: 90 });
    expect(observability.counted).toEqual({ OldestUndeliveredAgeSeconds: 90 });
  });

  it('drops batches the event API refuses and batches past the cut-off, unsent', async () => {
    const outbox = new InMemoryEventOutbox();
    await stored(outbox, ['refused'], NOW - 2);
    await stored(outbox, ['old-1', 'old-2'], NOW - 1, NOW - policy.maxAgeMs - 1);
    const sender = new ScriptedSender([refused]);

    const { report, observability } = await run(outbox, sender);

    expect(sender.sent).toHaveLength(1);
    expect(outbox.items.size).toBe(0);
    expect(report).toMatchObject({ dropped: 3, redelivered: 0 });
    expect(observability.counted.EventsDropped).toBe(3);
  });

  it('skips a batch another run claimed first', async () => {
    const outbox = new InMemoryEventOutbox();
    await stored(outbox, ['x'], NOW - 1);
    const claimedMeanwhile = Object.assign(new InMemoryEventOutbox(), {
      due: outbox.due.bind(outbox),
      reschedule: async () => null,
    });
    const sender = new ScriptedSender([delivered]);

    const { report } = await run(claimedMeanwhile, sender);

    expect(report).toMatchObject({ due: 1, claimedElsewhere: 1, redelivered: 0 });
    expect(sender.sent).toHaveLength(0);
  });

  it('stops when its budget is spent, leaving the rest for the next run', async () => {
    const outbox = new InMemoryEventOutbox();
    await stored(outbox, ['y'], NOW - 1);

    const { report } = await run(outbox, new ScriptedSender([delivered]), 0);

    expect(report).toMatchObject({ complete: false, redelivered: 0 });
    expect(outbox.uuids()).toEqual(['y']);
  });
});
