/**
 * When an undelivered event batch is sent again, and when it is given up: the one policy the
 * request path (first store) and the redelivery function (every later attempt) share. Redelivery
 * attempt n is due base·2^(n-1) after the previous one (capped at `retryMaxMs`, half jitter); a
 * batch whose oldest event is older than `maxAgeMs` is never sent again. Optimizely's Event API
 * documents no maximum event age; the cut-off and why it is 24 hours by default are in
 * docs/events.md.
 */
import { backoffDelay } from '../platform/core/retry';

export interface RedeliveryPolicy {
  /** Delay before the first redelivery (ms); each later one doubles. */
  retryBaseMs: number;
  /** Upper bound of one delay (ms): every stored batch comes due at least this often. */
  retryMaxMs: number;
  /** Age (ms) after which an event is dropped instead of sent. */
  maxAgeMs: number;
}

/** Epoch ms when redelivery attempt `attempt` (1 = first) is due, counted from `now`. */
export function nextDueAt(now: number, attempt: number, policy: RedeliveryPolicy): number {
  return (
    now + backoffDelay(attempt - 1, { baseMs: policy.retryBaseMs, maxMs: policy.retryMaxMs, jitter: 'half' })
  );
}

/** True when a batch whose oldest event happened at `firstEventAt` is past the cut-off. */
export function tooOld(firstEventAt: number, now: number, policy: RedeliveryPolicy): boolean {
  return now - firstEventAt > policy.maxAgeMs;
}

/** TTL (epoch seconds) of a stored batch: a day past the cut-off, a backstop for a redelivery that stopped. */
export function storedExpiry(firstEventAt: number, policy: RedeliveryPolicy): number {
  return Math.ceil((firstEventAt + policy.maxAgeMs + 24 * 3_600_000) / 1000);
}

/** The metric names of the event path (namespace Crosswalk), one place for both functions. */
export const EVENT_METRICS = {
  /** Delivered by the request that produced them, after its answer. */
  delivered: 'EventsDelivered',
  /** Not delivered by their request, left in the outbox for the redelivery function. */
  deferred: 'EventsDeferred',
  /** Delivered by the redelivery function. */
  redelivered: 'EventsRedelivered',
  /** Given up on purpose: refused by the event API (4xx other than 429) or past the cut-off. */
  dropped: 'EventsDropped',
  /** Neither delivered nor stored (the outbox write failed too): lost by fault, not by design. */
  lost: 'EventsLost',
  /** Age of the oldest event still waiting, among the batches a redelivery run saw. */
  oldestAge: 'OldestUndeliveredAgeSeconds',
} as const;
