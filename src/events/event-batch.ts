/**
 * Optimizely event batches (the Event API's request body) as Crosswalk handles them: merged per
 * project, counted, and split when a stored copy would be too big. An "event" is one snapshot event
 * (a decision's `campaign_activated` or a conversion), each with the `uuid` and `timestamp` the SDK
 * gave it. Those two never change after the SDK built the batch, across any number of retries:
 * Optimizely keeps one of several events with the same entity_id, uuid and timestamp, which is what
 * makes redelivery idempotent.
 */
import type { LogEvent } from '../optimizely/sdk';

export type EventBatch = LogEvent['params'];

/**
 * Bytes of one POST: Optimizely's event API takes at most 3.5 MB; the margin covers the envelope and
 * the JSON of the merge itself.
 */
export const MAX_BATCH_BYTES = 3_000_000;

/**
 * Groups batches whose envelopes (account, project, revision, client…) are identical, concatenating
 * their visitors (the event API takes many visitors per batch, as the SDK's batch processor sends
 * them) up to `maxBytes` per batch; batches of different projects stay apart. A batch is never cut
 * in two (one bigger than `maxBytes` travels alone).
 */
export function mergeBatches(batches: readonly EventBatch[], maxBytes = MAX_BATCH_BYTES): EventBatch[] {
  if (batches.length === 1) return [...batches];
  return packBatches(
    batches.map((batch) => ({ batch, tag: null })),
    maxBytes,
  ).map((packed) => packed.batch);
}

/**
 * `mergeBatches` that remembers what went where: each packed batch with the tags of the batches
 * merged into it (a stored batch's outbox reference, so a delivered merge can delete its copies).
 */
export function packBatches<T>(
  items: readonly { batch: EventBatch; tag: T }[],
  maxBytes = MAX_BATCH_BYTES,
): { batch: EventBatch; tags: T[] }[] {
  const groups = new Map<string, { batch: EventBatch; tags: T[]; bytes: number }[]>();
  for (const { batch, tag } of items) {
    const { visitors, ...envelope } = batch;
    const key = JSON.stringify(envelope);
    const bytes = Buffer.byteLength(JSON.stringify(visitors));
    let list = groups.get(key);
    if (!list) {
      list = [];
      groups.set(key, list);
    }
    let current = list[list.length - 1];
    if (!current || (current.tags.length > 0 && current.bytes + bytes > maxBytes)) {
      current = { batch: { ...batch, visitors: [] }, tags: [], bytes: Buffer.byteLength(key) };
      list.push(current);
    }
    current.batch.visitors.push(...visitors);
    current.tags.push(tag);
    current.bytes += bytes;
  }
  return [...groups.values()].flat().map(({ batch, tags }) => ({ batch, tags }));
}

/** Snapshot events in the batch: what the Events* metrics count. */
export function eventCount(batch: EventBatch): number {
  let count = 0;
  for (const visitor of batch.visitors)
    for (const snapshot of visitor.snapshots) count += snapshot.events.length;
  return count;
}

/** Every event's uuid, in batch order. */
export function eventUuids(batch: EventBatch): string[] {
  const uuids: string[] = [];
  for (const visitor of batch.visitors)
    for (const snapshot of visitor.snapshots) for (const event of snapshot.events) uuids.push(event.uuid);
  return uuids;
}

/** Epoch ms of the batch's oldest event (its age decides when it is too old to send); `fallback` when it has none. */
export function oldestEventTime(batch: EventBatch, fallback: number): number {
  let oldest = Number.POSITIVE_INFINITY;
  for (const visitor of batch.visitors)
    for (const snapshot of visitor.snapshots)
      for (const event of snapshot.events) if (event.timestamp < oldest) oldest = event.timestamp;
  return Number.isFinite(oldest) ? oldest : fallback;
}

/** The batch in two halves by visitors, for a stored copy over the item size limit; null when it cannot split. */
export function splitBatch(batch: EventBatch): [EventBatch, EventBatch] | null {
  if (batch.visitors.length < 2) return null;
  const half = Math.ceil(batch.visitors.length / 2);
  return [
    { ...batch, visitors: batch.visitors.slice(0, half) },
    { ...batch, visitors: batch.visitors.slice(half) },
  ];
}
