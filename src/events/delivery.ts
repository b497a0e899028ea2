/**
 * The request path of Optimizely events: stored before the answer, delivered by the relay
 * (docs/events.md).
 *
 * - Decision and conversion events alike are written to the outbox before the request answers (one
 *   PutItem per project batch, marked for the relay). The invocation then ends with its answer: it
 *   never waits for Optimizely's event API, and an environment that dies after answering loses
 *   nothing. The relay (src/events/relay.ts, fed by the table's stream) sends what was stored in
 *   batches of many visitors and deletes it; what it cannot send, the redelivery function sends
 *   later.
 * - When the outbox cannot be written (DynamoDB failing), the events are sent to the event API
 *   instead: a decide's after its answer (inside the invocation, platform/lambda/after-response.ts; before
 *   it when no deferral is available), a track's before its answer, which is 503 only when that
 *   fails too.
 * - A request made of many operations (Agent's /v1/batch) stores its operations' decision events
 *   once, merged into as few items as their size allows, before it answers (`gathered`).
 */
import { beforeDeadline, withDeadline } from '../platform/core/deadline';
import { DependencyUnavailableError } from '../platform/core/errors';
import { requestScope, withinScope } from '../platform/core/request-scope';
import { countFault, FAILED_OPEN_METRIC } from '../platform/observability/faults';
import type { Observability } from '../platform/observability/logger';
import { type EventBatch, eventCount, mergeBatches, oldestEventTime } from './event-batch';
import type { EventSender } from './event-sender';
import type { OutboxWriter } from './outbox';
import { EVENT_METRICS, nextDueAt, type RedeliveryPolicy, storedExpiry } from './redelivery-policy';

declare module '../platform/core/request-scope' {
  interface RequestScope {
    /** A /v1/batch's decision events, held until all its operations answered (`gathered`). */
    readonly gatheredEvents?: EventBatch[];
  }
}

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
  /**
   * How long an outbox write may hold a decide's or a track's answer (DECIDE_READ_TIMEOUT_MS, the
   * budget of decide's reads): past it, or on a failure, a decide's events are sent after the answer
   * instead, and a track's are delivered before it (a DynamoDB that hangs rather than refuses then
   * still leaves the track time to deliver). An item whose write timed out but landed may then be
   * sent twice, under the same uuid. Unset: no budget but the request's deadline.
   */
  storeTimeoutMs?: number;
  clock?: () => number;
}

export interface EventDelivery {
  /**
   * Decision events of a request that is about to answer: resolves once they are stored for the
   * relay (or, when the outbox failed, handed to the after-answer fallback). Never rejects.
   */
  beforeDecideAnswer(batches: EventBatch[]): Promise<void>;
  /**
   * Conversion events of a track request: resolves once they are stored (or, failing that,
   * delivered); rejects with DependencyUnavailableError when neither worked.
   */
  beforeTrackAnswer(batches: EventBatch[]): Promise<void>;
  /**
   * Runs the operations of one request (Agent's batch): the decision events they hand over are held
   * until `work` is done, then stored merged in one go, before the answer. Conversions are still
   * stored before each operation's answer.
   */
  gathered<T>(work: () => Promise<T>): Promise<T>;
}

export function createEventDelivery(deps: EventDeliveryDependencies): EventDelivery {
  const { sender, outbox, deferral, policy } = deps;
  const { logger, metrics } = deps.observability;
  const clock = deps.clock ?? Date.now;
  const count = (name: string, events: number) => {
    if (events > 0) metrics.metric(name, events);
  };

  function dropped(batch: EventBatch, outcome: { reason: string; status: number }): void {
    const events = eventCount(batch);
    logger.error('events dropped: the event API refused them', { events, ...outcome });
    count(EVENT_METRICS.dropped, events);
  }

  /**
   * Stores the batches for the relay: due for redelivery only after `retryBaseMs`, which leaves the
   * relay that long to send them first; waited for no longer than `storeTimeoutMs` when set. Answers
   * the error when they were not stored (the caller says what it does instead).
   */
  async function store(batches: EventBatch[]): Promise<{ error: unknown } | undefined> {
    const now = clock();
    const budgetMs = deps.storeTimeoutMs;
    const put = () =>
      outbox.put(
        batches.map((batch) => ({
          batch,
          dueAt: nextDueAt(now, 1, policy),
          expiresAt: storedExpiry(oldestEventTime(batch, now), policy),
          relay: true,
        })),
      );
    try {
      await (budgetMs === undefined ? put() : withinBudget(budgetMs, put));
      return undefined;
    } catch (error) {
      return { error };
    }
  }

  /** `work` with a deadline `ms` away (DynamoDB calls give up then), no longer waited for past it. */
  function withinBudget<T>(ms: number, work: () => Promise<T>): Promise<T> {
    return withDeadline(Date.now() + ms, () =>
      beforeDeadline(
        work(),
        () =>
          new DependencyUnavailableError(`The outbox write took longer than ${ms} ms`, {
            cause: Object.assign(new Error('budget spent'), { name: 'TimeoutError' }),
          }),
      ),
    );
  }

  /** A decide's fallback when its events could not be stored: send; what fails now is lost. */
  async function sendUnstored(batches: EventBatch[]): Promise<void> {
    await Promise.all(
      batches.map(async (batch) => {
        const events = eventCount(batch);
        const outcome = await sender.send(batch);
        if (outcome.kind === 'delivered') return count(EVENT_METRICS.delivered, events);
        if (outcome.kind === 'rejected') return dropped(batch, outcome);
        logger.error('events lost: neither stored nor delivered', { events, reason: outcome.reason });
        count(EVENT_METRICS.lost, events);
      }),
    );
  }

  async function storeDecisions(batches: EventBatch[]): Promise<void> {
    const failed = await store(batches);
    if (!failed) return;
    // Not stored (failed, or past its budget): flagged as decide's reads are when they fail open
    // (src/agent/fail-open.ts).
    const fault = countFault(metrics, failed.error);
    metrics.metric(FAILED_OPEN_METRIC, 1);
    logger.warn('decide failed open: decision events not stored; sending them after the answer instead', {
      part: 'events',
      fault,
      error: failed.error,
    });
    if (deferral.available) deferral.defer(() => sendUnstored(batches));
    else await sendUnstored(batches);
  }

  return {
    async gathered(work) {
      const held: EventBatch[] = [];
      try {
        return await withinScope({ gatheredEvents: held }, work);
      } finally {
        if (held.length > 0) await storeDecisions(mergeBatches(held));
      }
    },

    async beforeDecideAnswer(batches) {
      if (batches.length === 0) return;
      const held = requestScope().gatheredEvents;
      if (held) {
        held.push(...batches);
        return;
      }
      await storeDecisions(batches);
    },

    async beforeTrackAnswer(batches) {
      if (batches.length === 0) return;
      const failed = await store(batches);
      if (!failed) return;
      logger.warn('conversion events not stored; delivering them before the answer instead', {
        error: failed.error,
      });
      // Not stored: deliver now, and only a failure of both is the caller's to retry.
      const outcomes = await Promise.all(batches.map((batch) => sender.send(batch)));
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
