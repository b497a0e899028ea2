/**
 * The relay: sends the event batches the request path stored, soon after they were stored, in
 * requests of many visitors, then deletes them. It is fed by the table's stream (DynamoDB Streams →
 * the redelivery function in AWS; the local stream poller under `npm start` and in tests), a batch
 * of new outbox items at a time.
 *
 * Ownership is by time: an item is the relay's until it is due (`dueAt`, set by the request path
 * `EVENT_RETRY_BASE_MS`, 60 s, after storing), the redelivery function's from then on. The relay
 * skips what is already due; the stream hands it items within about a second, so the two send the
 * same item only when a relay send runs past the due time or a delete fails: a duplicate Optimizely
 * discards by uuid. A batch the event API does not take is left where it is: the redelivery
 * function sends it when due, with backoff. Nothing here throws for a failed send or delete, so the
 * stream never retries a batch.
 */
import type { Observability } from '../platform/observability/logger';
import { eventCount, packBatches } from './event-batch';
import type { EventSender } from './event-sender';
import type { OutboxRef, OutboxWriter, StoredBatch } from './outbox';
import { EVENT_METRICS } from './redelivery-policy';

export interface RelayDependencies {
  outbox: OutboxWriter;
  /** A sender that tries at most twice at once (a closed keep-alive socket); the redelivery retries later. */
  sender: EventSender;
  observability: Observability;
  clock?: () => number;
}

export interface RelayReport {
  /** Stored batches handed over. */
  items: number;
  /** Left to the redelivery function: already due when the relay saw them. */
  late: number;
  /** Event API requests made, and the visitors and events they carried. */
  posts: number;
  visitors: number;
  delivered: number;
  dropped: number;
  /** Events the event API did not take now: sent by the redelivery function when due. */
  deferred: number;
}

/** Sends the stored batches, merged per project (up to the event API's size), and deletes them. */
export async function relayStored(
  deps: RelayDependencies,
  items: readonly StoredBatch[],
): Promise<RelayReport> {
  const { logger, metrics } = deps.observability;
  const clock = deps.clock ?? Date.now;
  const report: RelayReport = {
    items: items.length,
    late: 0,
    posts: 0,
    visitors: 0,
    delivered: 0,
    dropped: 0,
    deferred: 0,
  };
  const now = clock();
  const owned = items.filter((item) => item.dueAt > now);
  report.late = items.length - owned.length;
  const packed = packBatches(owned.map((item) => ({ batch: item.batch, tag: item.ref })));
  await Promise.all(
    packed.map(async ({ batch, tags }) => {
      const events = eventCount(batch);
      report.posts++;
      report.visitors += batch.visitors.length;
      const outcome = await deps.sender.send(batch);
      if (outcome.kind === 'retry') {
        report.deferred += events;
        logger.warn('events left for redelivery', { events, reason: outcome.reason });
        return;
      }
      if (outcome.kind === 'delivered') report.delivered += events;
      else {
        report.dropped += events;
        logger.error('events dropped: the event API refused them', {
          events,
          reason: outcome.reason,
          status: outcome.status,
        });
      }
      await removeAll(deps, tags, events);
    }),
  );
  if (report.delivered > 0) metrics.metric(EVENT_METRICS.delivered, report.delivered);
  if (report.dropped > 0) metrics.metric(EVENT_METRICS.dropped, report.dropped);
  if (report.deferred > 0) metrics.metric(EVENT_METRICS.deferred, report.deferred);
  return report;
}

async function removeAll(deps: RelayDependencies, refs: readonly OutboxRef[], events: number): Promise<void> {
  const failed = (await Promise.allSettled(refs.map((ref) => deps.outbox.remove(ref)))).filter(
    (r) => r.status === 'rejected',
  );
  if (failed.length > 0) {
    // Sent again by the redelivery function when due: duplicates Optimizely discards (same uuids).
    deps.observability.logger.warn('delivered events could not be removed from the outbox', {
      events,
      items: failed.length,
      error: (failed[0] as PromiseRejectedResult).reason,
    });
  }
}
