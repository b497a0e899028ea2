/**
 * The Optimizely event dispatcher Crosswalk gives the SDK (through its forwarding event processor).
 *
 * It sends nothing itself: it collects the events of one request while the SDK runs (the forwarding
 * processor dispatches synchronously inside decide/track), and `capture()` hands them back merged
 * into one batch per project, for the request's delivery path to send after answering
 * (events/delivery.ts). The SDK's own processors are unsafe in Lambda: the batch processor holds
 * events up to 30 s and `close()` returns before dispatch finishes, so a frozen container loses them.
 * AsyncLocalStorage scopes the collection to one request, so concurrent requests on the local server
 * never see each other's events. `capture()` is synchronous for a synchronous decision: a request
 * that dispatched nothing (DISABLE_DECISION_EVENT, no experiment) pays no await and no allocation
 * beyond the scope; an awaited (CMAB) decision's events, dispatched once its prediction came,
 * are collected when it resolves.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type EventBatch, mergeBatches } from '../events/event-batch';
import { type MaybePromise, thenMaybe } from '../platform/core/maybe-promise';
import type { EventDispatcher, LogEvent } from './sdk';

const DELIVERED = Promise.resolve({ statusCode: 200 });

export class CapturingEventDispatcher implements EventDispatcher {
  private readonly scopes = new AsyncLocalStorage<EventBatch[]>();

  /** Collects the event into the running `capture()`; every decide, track and activate runs inside one. */
  dispatchEvent(event: LogEvent): Promise<{ statusCode?: number }> {
    this.scopes.getStore()?.push(event.params);
    // The SDK only logs what this answers; delivery is reported by the delivery path.
    return DELIVERED;
  }

  /** Runs `fn` and returns what it dispatched, merged into batches (empty when nothing). */
  capture<T>(fn: () => MaybePromise<T>): MaybePromise<{ result: T; batches: EventBatch[] }> {
    const scope: EventBatch[] = [];
    return thenMaybe(this.scopes.run(scope, fn), (result) => ({
      result,
      batches: scope.length === 0 ? scope : mergeBatches(scope),
    }));
  }
}
