/**
 * The request path of Optimizely events: answer first, deliver right after, never lose what was
 * stored (docs/events.md).
 *
 * - Decision events are sent after the answer, inside the same invocation (the deferral is the
 *   Lambda extension of platform/lambda/after-response.ts, or the local server). A batch the event API does
 *   not take (5xx, 429, timeout, network) goes to the outbox for the redelivery function. Until that
 *   write is done they exist only in memory: that is decide's loss window.
 * - Conversion events are stored in the outbox before the answer (one PutItem), then sent after it;
 *   once delivered, the stored copy is deleted. A track is answered 503 only when its conversion
 *   could be neither stored nor delivered.
 * - Without a deferral (the extension failed to register), the same work is awaited before the
 *   answer: slower, never less safe.
 * - After a few failures in a row, a container stops trying the event API for a while and stores
 *   directly, so an outage or a hanging endpoint costs one PutItem per request instead of timeouts
 *   billed in every invocation. When storing fails too (DynamoDB down), the event API is tried
 *   anyway: the pause saves time, never events.
 * - A request made of many operations (Agent's /v1/batch) delivers once: its operations' events are
 *   gathered and sent together after its answer, merged into as few event API requests as their
 *   size allows (`gathered`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DependencyUnavailableError } from '../platform/core/errors';
import type { Observability } from '../platform/observability/logger';
import { type EventBatch, eventCount, mergeBatches, oldestEventTime, packBatches } from './event-batch';
import type { EventSender, SendOutcome } from './event-sender';
import type { OutboxRef, OutboxWriter } from './outbox';
import { EVENT_METRICS, nextDueAt, type RedeliveryPolicy, storedExpiry } from './redelivery-policy';

/** Runs work after the answer, inside the invocation; or says it cannot. */
export interface Deferral {
  /** False when nothing would hold the invocation open: the caller must await the work itself. */
  readonly available: boolean;
  defer(work: () => Promise<unknown>): void;
}

export interface EventDeliveryDependencies {
  sender: EventSender;
  outbox: OutboxWriter;
  deferral: Deferral;
  policy: RedeliveryPolicy;
  observability: Observability;
  clock?: () => number;
  /** Failures in a row after which the container stops trying the event API for `retryBaseMs`. */
  breakerThreshold?: number;
}

export interface EventDelivery {
  /**
   * Decision events of a request that is about to answer. Returns a promise only when the caller
   * must await it before answering (no deferral); never rejects.
   */
  afterDecide(batches: EventBatch[]): Promise<void> | undefined;
  /**
   * Conversion events of a track request: resolves once they are stored (or, failing that,
   * delivered); rejects with DependencyUnavailableError when neither worked.
   */
  beforeTrackAnswer(batches: EventBatch[]): Promise<void>;
  /**
   * Runs the operations of one request (Agent's batch): the events they hand over are held until
   * `work` is done, then delivered as above in one go (after the answer), merged. Conversions are
   * still stored before each operation's answer.
   */
  gathered<T>(work: () => Promise<T>): Promise<T>;
}

/** What the operations of one gathered request handed over. */
interface Gathering {
  decisions: EventBatch[];
  stored: { batch: EventBatch; ref: OutboxRef }[];
}

const DEFAULT_BREAKER_THRESHOLD = 3;

export function createEventDelivery(deps: EventDeliveryDependencies): EventDelivery {
  const { sender, outbox, deferral, policy } = deps;
  const { logger, metrics } = deps.observability;
  const clock = deps.clock ?? Date.now;
  const threshold = deps.breakerThreshold ?? DEFAULT_BREAKER_THRESHOLD;
  let failuresInARow = 0;
  let pausedUntil = 0;
  const gathering = new AsyncLocalStorage<Gathering>();

  const count = (name: string, events: number) => {
    if (events > 0) metrics.metric(name, events);
  };

  /**
   * Sends unless the event API has failed repeatedly just now (or `always`: nothing else can keep
   * the events); records the outcome for that.
   */
  async function send(batch: EventBatch, always = false): Promise<SendOutcome & { skipped?: true }> {
    if (!always && clock() < pausedUntil)
      return { kind: 'retry', reason: 'event API failing; paused in this container', skipped: true };
    const outcome = await sender.send(batch);
    if (outcome.kind === 'retry') {
      failuresInARow++;
      if (failuresInARow >= threshold) {
        pausedUntil = clock() + policy.retryBaseMs;
        failuresInARow = 0;
        logger.warn('event API failing: storing events for redelivery without trying it for a while', {
          pauseMs: policy.retryBaseMs,
          reason: outcome.reason,
        });
      }
    } else {
      failuresInARow = 0;
    }
    return outcome;
  }

  function dropped(batch: EventBatch, outcome: { reason: string; status: number }): void {
    const events = eventCount(batch);
    logger.error('events dropped: the event API refused them', { events, ...outcome });
    count(EVENT_METRICS.dropped, events);
  }

  function entryFor(batch: EventBatch, now: number) {
    return {
      batch,
      dueAt: nextDueAt(now, 1, policy),
      expiresAt: storedExpiry(oldestEventTime(batch, now), policy),
    };
  }

  /** Decide's flush: send; store what failed; count everything. Never rejects. */
  async function flushDecisions(batches: EventBatch[]): Promise<void> {
    await Promise.all(
      batches.map(async (batch) => {
        const events = eventCount(batch);
        const outcome = await send(batch);
        if (outcome.kind === 'delivered') return count(EVENT_METRICS.delivered, events);
        if (outcome.kind === 'rejected') return dropped(batch, outcome);
        try {
          await outbox.put([entryFor(batch, clock())]);
          logger.warn('events stored for redelivery', { events, reason: outcome.reason });
          count(EVENT_METRICS.deferred, events);
        } catch (error) {
          if (outcome.skipped) {
            const tried = await send(batch, true);
            if (tried.kind === 'delivered') return count(EVENT_METRICS.delivered, events);
            if (tried.kind === 'rejected') return dropped(batch, tried);
          }
          logger.error('events lost: neither delivered nor stored', {
            events,
            reason: outcome.reason,
            error,
          });
          count(EVENT_METRICS.lost, events);
        }
      }),
    );
  }

  /**
   * Track's flush: the batches are stored (each merged batch names the stored copies it was made
   * of); send them and delete what was delivered or refused.
   */
  async function flushStored(stored: { batch: EventBatch; refs: OutboxRef[] }[]): Promise<void> {
    await Promise.all(
      stored.map(async ({ batch, refs }) => {
        const events = eventCount(batch);
        const outcome = await send(batch);
        if (outcome.kind === 'retry') {
          logger.warn('events left for redelivery', { events, reason: outcome.reason });
          return count(EVENT_METRICS.deferred, events);
        }
        if (outcome.kind === 'delivered') count(EVENT_METRICS.delivered, events);
        else dropped(batch, outcome);
        try {
          await Promise.all(refs.map((ref) => outbox.remove(ref)));
        } catch (error) {
          // Sent again later by the redelivery function: a duplicate Optimizely discards (same uuid).
          logger.warn('delivered events could not be removed from the outbox', { events, error });
        }
      }),
    );
  }

  /** A gathered request's events, merged: sent after the answer (or now, without a deferral). */
  async function flushGathered({ decisions, stored }: Gathering): Promise<void> {
    const merged = {
      decisions: mergeBatches(decisions),
      stored: packBatches(stored.map(({ batch, ref }) => ({ batch, tag: ref }))).map(({ batch, tags }) => ({
        batch,
        refs: tags,
      })),
    };
    const flush = () => Promise.all([flushDecisions(merged.decisions), flushStored(merged.stored)]);
    if (deferral.available) deferral.defer(flush);
    else await flush();
  }

  return {
    async gathered(work) {
      const held: Gathering = { decisions: [], stored: [] };
      try {
        return await gathering.run(held, work);
      } finally {
        if (held.decisions.length > 0 || held.stored.length > 0) await flushGathered(held);
      }
    },

    afterDecide(batches) {
      if (batches.length === 0) return undefined;
      const held = gathering.getStore();
      if (held) {
        held.decisions.push(...batches);
        return undefined;
      }
      if (deferral.available) {
        deferral.defer(() => flushDecisions(batches));
        return undefined;
      }
      return flushDecisions(batches);
    },

    async beforeTrackAnswer(batches) {
      if (batches.length === 0) return;
      const now = clock();
      let refs: OutboxRef[] | undefined;
      try {
        refs = await outbox.put(batches.map((batch) => entryFor(batch, now)));
      } catch (error) {
        logger.warn('conversion events could not be stored; delivering them before answering', { error });
      }
      if (refs) {
        const stored = batches.map((batch, i) => ({ batch, ref: refs[i]! }));
        const held = gathering.getStore();
        if (held) held.stored.push(...stored);
        else if (deferral.available)
          deferral.defer(() => flushStored(stored.map(({ batch, ref }) => ({ batch, refs: [ref] }))));
        else await flushStored(stored.map(({ batch, ref }) => ({ batch, refs: [ref] })));
        return;
      }
      // Not stored: deliver now (even while paused), and only a failure of both is the caller's to retry.
      const outcomes = await Promise.all(batches.map((batch) => send(batch, true)));
      let undelivered = 0;
      outcomes.forEach((outcome, i) => {
        const batch = batches[i]!;
        if (outcome.kind === 'delivered') count(EVENT_METRICS.delivered, eventCount(batch));
        else if (outcome.kind === 'rejected') dropped(batch, outcome);
        else undelivered += eventCount(batch);
      });
      if (undelivered > 0) {
        throw new DependencyUnavailableError(
          'The conversion event could be neither delivered to Optimizely nor stored for redelivery',
        );
      }
    },
  };
}
