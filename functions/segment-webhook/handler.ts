/**
 * POST /webhooks/segment: Segment's Webhooks (Actions) destination. Authenticates the request
 * (src/segment/webhook-request.ts), ingests the events into the identity graph and answers with a
 * per-event summary. Transient storage faults surface as 503 so Segment retries; a retried batch
 * converges (messageId markers, LWW).
 */

import type { IngestOptions } from '../../src/identity/ingest';
import { InvalidRequestError } from '../../src/platform/core/errors';
import { countDynamoDbRequests } from '../../src/platform/dynamodb/client';
import { json } from '../../src/platform/http/api-gateway';
import { httpHandler, type LambdaHttpHandler } from '../../src/platform/http/http-handler';
import { routeOperations } from '../../src/platform/http/operations';
import type { Observability } from '../../src/platform/observability/logger';
import type { EventLimits } from '../../src/segment/event-rules';
import { ingestSegmentEvents } from '../../src/segment/ingest-events';
import { authenticatedSegmentBody, type SegmentRequestOptions } from '../../src/segment/webhook-request';
import { webhookEvents } from './schema';

export interface SegmentWebhookDependencies {
  request: SegmentRequestOptions;
  maxBatch: number;
  ingest: IngestOptions & { limits: EventLimits };
  observability: Observability;
}

export function createSegmentWebhookHandler(deps: SegmentWebhookDependencies): LambdaHttpHandler {
  const { logger, metrics } = deps.observability;
  return httpHandler(
    routeOperations('segment-webhook', {
      ingest: async (event) => {
        const body = await authenticatedSegmentBody(event, deps.request);
        const events = webhookEvents(body, deps.maxBatch);
        const { result: summary, requests } = await countDynamoDbRequests(() =>
          ingestSegmentEvents(events, deps.ingest),
        );
        metrics.metric('SegmentEventsAccepted', summary.accepted);
        metrics.metric('SegmentDynamoDbRequests', requests);
        logger.info('segment batch ingested', {
          events: events.length,
          accepted: summary.accepted,
          duplicates: summary.duplicates,
          rejected: summary.rejected.length,
          dynamoDbRequests: requests,
        });
        // One event on its own that breaks a rule is the sender's error: a 400 naming the rule
        // (Segment drops it rather than retrying). In a batch, it is one entry of `rejected`.
        const [refused] = summary.rejected;
        if (!Array.isArray(body) && refused) throw new InvalidRequestError(refused.reason);
        return json(200, {
          accepted: summary.accepted,
          duplicates: summary.duplicates,
          rejected: summary.rejected,
        });
      },
    }),
    deps.observability,
  );
}
