/**
 * The redelivery function: run every minute by an EventBridge schedule (no HTTP route), it first
 * completes the erasures Segment deletes asked for (src/identity/erasure.ts: before anything is sent,
 * so a deleted person's queued events are not), then re-sends the due batches of the event outbox
 * (src/events/redelivery.ts) until a little before its own timeout. The scheduled event itself carries
 * nothing it needs.
 */
import type { Context } from 'aws-lambda';
import {
  type RedeliveryDependencies,
  type RedeliveryReport,
  redeliverDue,
} from '../../src/events/redelivery';
import { type ErasureDependencies, type ErasureReport, runErasures } from '../../src/identity/erasure';
import { withLogContext } from '../../src/platform/observability/logger';

export interface RedeliveryRun extends RedeliveryReport {
  /** What this run erased for Segment deletes; absent when that step failed (it is retried next run). */
  erasure?: ErasureReport;
}

export type RedeliveryHandler = (event: unknown, context: Context) => Promise<RedeliveryRun>;

export interface RedeliveryFunctionDependencies extends RedeliveryDependencies {
  erasure?: ErasureDependencies;
}

/** Stops this long before the timeout, so a run never ends mid-write. */
const MARGIN_MS = 5_000;

export function createRedeliveryHandler(deps: RedeliveryFunctionDependencies): RedeliveryHandler {
  let invocations = 0;
  return (_event, context) =>
    withLogContext(
      {
        requestId: context.awsRequestId,
        ...(process.env._X_AMZN_TRACE_ID ? { traceId: process.env._X_AMZN_TRACE_ID } : {}),
        function: 'event-redelivery',
        coldStart: invocations++ === 0,
      },
      async () => {
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
      },
    );
}
