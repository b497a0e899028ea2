/**
 * The redelivery function: run every minute by an EventBridge schedule (no HTTP route), it re-sends
 * the due batches of the event outbox (events/redelivery.ts) until a little before its own timeout.
 * The scheduled event itself carries nothing it needs.
 */
import type { Context } from 'aws-lambda';
import { type RedeliveryDependencies, type RedeliveryReport, redeliverDue } from '../events/redelivery';
import { withLogContext } from '../observability/logger';

export type RedeliveryHandler = (event: unknown, context: Context) => Promise<RedeliveryReport>;

/** Stops this long before the timeout, so a run never ends mid-write. */
const MARGIN_MS = 5_000;

export function createRedeliveryHandler(deps: RedeliveryDependencies): RedeliveryHandler {
  let invocations = 0;
  return (_event, context) =>
    withLogContext(
      {
        requestId: context.awsRequestId,
        ...(process.env._X_AMZN_TRACE_ID ? { traceId: process.env._X_AMZN_TRACE_ID } : {}),
        function: 'redelivery',
        coldStart: invocations++ === 0,
      },
      async () => {
        const budgetMs = Math.max(0, context.getRemainingTimeInMillis() - MARGIN_MS);
        try {
          return await redeliverDue(deps, { budgetMs });
        } catch (error) {
          deps.observability.logger.error('redelivery run failed', { error });
          throw error;
        }
      },
    );
}
