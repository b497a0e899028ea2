/**
 * The redelivery function, with two triggers (no HTTP route):
 *
 * - every minute, an EventBridge schedule: it first completes the erasures Segment deletes asked
 *   for (src/identity/erasure.ts: before anything is sent, so a deleted person's queued events are
 *   not), then re-sends the due batches of the event outbox (src/events/redelivery.ts) until a little
 *   before its own timeout. The scheduled event itself carries nothing it needs;
 * - the table's stream, filtered to new outbox items marked for the relay: it sends them at once,
 *   many visitors per request, and deletes them (src/events/relay.ts).
 */
import type { Context } from 'aws-lambda';
import { type StreamAttributeValue, storedBatchFromImage } from '../../src/events/dynamodb/outbox';
import type { StoredBatch } from '../../src/events/outbox';
import {
  type RedeliveryDependencies,
  type RedeliveryReport,
  redeliverDue,
} from '../../src/events/redelivery';
import { type RelayDependencies, type RelayReport, relayStored } from '../../src/events/relay';
import { type ErasureDependencies, type ErasureReport, runErasures } from '../../src/identity/erasure';
import { withLogContext } from '../../src/platform/observability/logger';

export interface RedeliveryRun extends RedeliveryReport {
  /** What this run erased for Segment deletes; absent when that step failed (it is retried next run). */
  erasure?: ErasureReport;
}

export interface RelayRun extends RelayReport {
  trigger: 'stream';
}

export type RedeliveryHandler = (event: unknown, context: Context) => Promise<RedeliveryRun>;
export type RelayHandler = (event: OutboxStreamEvent, context: Context) => Promise<RelayRun>;
/** The Lambda entry's handler: stream events go to the relay, anything else is a scheduled run. */
export type RedeliveryFunctionHandler = RelayHandler & RedeliveryHandler;

export interface RedeliveryFunctionDependencies extends RedeliveryDependencies {
  erasure?: ErasureDependencies;
  /** The stream trigger's dependencies; unset: stream events are refused. */
  relay?: RelayDependencies;
}

/** What Lambda hands the function from the table's stream (the fields read here). */
export interface OutboxStreamEvent {
  Records: { eventName?: string; dynamodb?: { NewImage?: Record<string, StreamAttributeValue> } }[];
}

function isStreamEvent(event: unknown): event is OutboxStreamEvent {
  return typeof event === 'object' && event !== null && Array.isArray((event as OutboxStreamEvent).Records);
}

function storedItems(event: OutboxStreamEvent): StoredBatch[] {
  const items: StoredBatch[] = [];
  for (const record of event.Records) {
    const image = record.dynamodb?.NewImage;
    const item = record.eventName === 'INSERT' && image ? storedBatchFromImage(image) : null;
    if (item) items.push(item);
  }
  return items;
}

/** Stops this long before the timeout, so a run never ends mid-write. */
const MARGIN_MS = 5_000;

export function createRedeliveryFunctionHandler(
  deps: RedeliveryFunctionDependencies,
): RedeliveryFunctionHandler {
  const scheduled = createRedeliveryHandler(deps);
  const relay = createRelayHandler(deps);
  return ((event: unknown, context: Context) =>
    isStreamEvent(event) ? relay(event, context) : scheduled(event, context)) as RedeliveryFunctionHandler;
}

let invocations = 0;
function logContext(context: Context) {
  return {
    requestId: context.awsRequestId,
    ...(process.env._X_AMZN_TRACE_ID ? { traceId: process.env._X_AMZN_TRACE_ID } : {}),
    function: 'event-redelivery',
    coldStart: invocations++ === 0,
  };
}

/** The stream trigger: relays the new outbox items of one stream batch. */
export function createRelayHandler(deps: RedeliveryFunctionDependencies): RelayHandler {
  return (event, context) =>
    withLogContext(logContext(context), async () => {
      if (!deps.relay) throw new Error('stream events reached a redelivery function without a relay');
      const report = await relayStored(deps.relay, storedItems(event));
      if (report.items > 0) deps.observability.logger.info('relay run', { ...report });
      return { trigger: 'stream' as const, ...report };
    });
}

/** The scheduled trigger: erasures, then what is due in the outbox. */
export function createRedeliveryHandler(deps: RedeliveryFunctionDependencies): RedeliveryHandler {
  return (_event, context) =>
    withLogContext(logContext(context), async () => {
      let erasure: ErasureReport | undefined;
      if (deps.erasure) {
        try {
          erasure = await runErasures(deps.erasure);
        } catch (error) {
          // The jobs stay; the next run retries them. Redelivery goes on meanwhile.
          deps.observability.logger.error('erasure run failed', { error });
        }
      }
      const budgetMs = Math.max(0, context.getRemainingTimeInMillis() - MARGIN_MS);
      try {
        const report = await redeliverDue(deps, { budgetMs });
        return erasure ? { ...report, erasure } : report;
      } catch (error) {
        deps.observability.logger.error('redelivery run failed', { error });
        throw error;
      }
    });
}
