/**
 * One run of the redelivery function: every outbox batch that is due is claimed (moved to its next
 * due time, so no other run sends it meanwhile), sent, and deleted once the event API took it or
 * refused it for good; a batch past the cut-off is dropped unsent. A send that fails again needs no
 * further write: the claim already scheduled the next attempt. A run stops when its time budget is
 * spent, leaving the rest for the next one.
 *
 * `OldestUndeliveredAgeSeconds` is the age of the oldest event among the batches this run saw that
 * are still undelivered (0 when none). Every stored batch comes due at least every `retryMaxMs`, so
 * the metric's maximum over any window longer than that is the age of the oldest undelivered event:
 * the alarm uses that statistic (docs/events.md).
 */
import type { Observability } from '../platform/observability/logger';
import type { EventSender } from './event-sender';
import type { EventOutbox, StoredBatch } from './outbox';
import { EVENT_METRICS, nextDueAt, type RedeliveryPolicy, tooOld } from './redelivery-policy';

export interface RedeliveryDependencies {
  outbox: EventOutbox;
  /** A sender that tries once: the next attempt is a later run's. */
  sender: EventSender;
  policy: RedeliveryPolicy;
  observability: Observability;
  clock?: () => number;
}

export interface RedeliveryReport {
  /** Batches found due. */
  due: number;
  /** Events (not batches) in each outcome. */
  redelivered: number;
  dropped: number;
  stillUndelivered: number;
  /** Due batches another run had claimed first. */
  claimedElsewhere: number;
  oldestUndeliveredAgeSeconds: number;
  /** False when the run stopped at its deadline with due batches left. */
  complete: boolean;
}

const PAGE_SIZE = 25;
/** Sends in flight at once: an outage's backlog drains in parallel without flooding the event API. */
const CONCURRENCY = 8;

export async function redeliverDue(
  deps: RedeliveryDependencies,
  options: { budgetMs: number },
): Promise<RedeliveryReport> {
  const { outbox, sender, policy } = deps;
  const { logger, metrics } = deps.observability;
  const clock = deps.clock ?? Date.now;
  const deadline = clock() + options.budgetMs;
  const report: RedeliveryReport = {
    due: 0,
    redelivered: 0,
    dropped: 0,
    stillUndelivered: 0,
    claimedElsewhere: 0,
    oldestUndeliveredAgeSeconds: 0,
    complete: true,
  };
  const stillWaiting = (item: StoredBatch) => {
    const age = Math.max(0, Math.floor((clock() - item.firstEventAt) / 1000));
    report.oldestUndeliveredAgeSeconds = Math.max(report.oldestUndeliveredAgeSeconds, age);
  };

  async function redeliver(item: StoredBatch): Promise<void> {
    const now = clock();
    if (tooOld(item.firstEventAt, now, policy)) {
      await outbox.remove(item.ref);
      report.dropped += item.events;
      logger.error('events dropped: older than the delivery cut-off', {
        events: item.events,
        attempts: item.attempts,
        ageSeconds: Math.floor((now - item.firstEventAt) / 1000),
      });
      return;
    }
    const claimed = await outbox.reschedule(item, nextDueAt(now, item.attempts + 1, policy));
    if (!claimed) {
      report.claimedElsewhere++;
      return;
    }
    const outcome = await sender.send(claimed.batch);
    if (outcome.kind === 'retry') {
      report.stillUndelivered += item.events;
      stillWaiting(item);
      return;
    }
    await outbox.remove(claimed.ref);
    if (outcome.kind === 'delivered') {
      report.redelivered += item.events;
    } else {
      report.dropped += item.events;
      logger.error('events dropped: the event API refused them', {
        events: item.events,
        attempts: claimed.attempts,
        status: outcome.status,
        reason: outcome.reason,
      });
    }
  }

  try {
    pages: for await (const page of outbox.due(clock(), PAGE_SIZE)) {
      report.due += page.length;
      for (let i = 0; i < page.length; i += CONCURRENCY) {
        if (clock() >= deadline) {
          report.complete = false;
          for (const item of page.slice(i)) stillWaiting(item);
          break pages;
        }
        const results = await Promise.allSettled(page.slice(i, i + CONCURRENCY).map(redeliver));
        results.forEach((result, j) => {
          if (result.status === 'fulfilled') return;
          // Left where it is (claimed or not): a later run tries again.
          const item = page[i + j]!;
          stillWaiting(item);
          report.stillUndelivered += item.events;
          logger.warn('redelivery of a stored batch failed', { error: result.reason, events: item.events });
        });
      }
    }
  } finally {
    if (report.redelivered > 0) metrics.metric(EVENT_METRICS.redelivered, report.redelivered);
    if (report.dropped > 0) metrics.metric(EVENT_METRICS.dropped, report.dropped);
    metrics.metric(EVENT_METRICS.oldestAge, report.oldestUndeliveredAgeSeconds, 'Seconds');
  }
  if (report.due > 0) logger.info('redelivery run', { ...report });
  return report;
}
