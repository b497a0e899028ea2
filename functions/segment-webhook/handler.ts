/**
 * POST /webhooks/segment: Segment's Webhooks (Actions) destination. Authenticates the request
 * (segment/webhook-request.ts), ingests the events into the identity graph and answers with a
 * per-event summary. Transient storage faults surface as 503 so Segment retries; a retried batch
 * converges (messageId markers, LWW).
 */
import { json } from '../http/api-gateway';
import { httpHandler, type LambdaHttpHandler } from '../http/http-handler';
import { routeOperations } from '../http/operations';
import type { IngestOptions } from '../identity/ingest';
import type { Observability } from '../observability/logger';
import { ingestSegmentEvents } from '../segment/ingest-events';
import { authenticatedSegmentBody, type SegmentRequestOptions } from '../segment/webhook-request';
import { countDynamoDbRequests } from '../storage/dynamodb-client';
import { webhookEvents } from './schema';

export interface SegmentWebhookDependencies {
  request: SegmentRequestOptions;
  maxBatch: number;
  ingest: IngestOptions;
  observability: Observability;
}

export function createSegmentWebhookHandler(deps: SegmentWebhookDependencies): LambdaHttpHandler {
  const { logger, metrics } = deps.observability;
  return httpHandler(
    routeOperations('segment-webhook', {
      ingest: async (event) => {
        const events = webhookEvents(await authenticatedSegmentBody(event, deps.request), deps.maxBatch);
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
