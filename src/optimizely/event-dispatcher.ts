/**
 * The Optimizely event dispatcher Crosswalk gives the SDK (through its forwarding event processor).
 *
 * It sends nothing itself: it adds the events the SDK dispatches to the decision running
 * (decision-scope.ts; the forwarding processor dispatches synchronously inside decide/track, and an
 * awaited CMAB decision once its prediction came), whose runner hands them back merged into one
 * batch per project for the request's delivery path (events/delivery.ts). The SDK's own processors
 * are unsafe in Lambda: the batch processor holds events up to 30 s and `close()` returns before
 * dispatch finishes, so a frozen container loses them.
 */
import type { EventBatch } from '../events/event-batch';
import { type MaybePromise, thenMaybe } from '../platform/core/maybe-promise';
import { currentDecision, runDecision } from './decision-scope';
import type { EventDispatcher, LogEvent } from './sdk';

const DELIVERED = Promise.resolve({ statusCode: 200 });

export class CapturingEventDispatcher implements EventDispatcher {
  /** Adds the event to the running decision; every decide, track and activate runs as one. */
  dispatchEvent(event: LogEvent): Promise<{ statusCode?: number }> {
    currentDecision()?.events.push(event.params);
    // The SDK only logs what this answers; delivery is reported by the delivery path.
    return DELIVERED;
  }

  /** Runs `fn` as a decision without a profile (a track) and returns what it dispatched, merged into batches. */
  capture<T>(fn: () => MaybePromise<T>): MaybePromise<{ result: T; batches: EventBatch[] }> {
    return thenMaybe(runDecision(null, fn, true), ({ result, batches }) => ({ result, batches }));
  }
}
