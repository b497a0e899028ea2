/**
 * POST /webhooks/segment: Segment's Webhooks (Actions) destination. Authenticates the request
 * (webhook token over the whole request, X-Signature over what Segment signs), then ingests the
 * events into the identity graph and answers with a per-event summary. Transient storage faults
 * surface as 503 so Segment retries; a retried batch converges (messageId markers, LWW).
 */
import { env } from '../config/env';
import { secrets } from '../config/secrets';
import { type HttpEvent, json, rawBody } from '../http/api-gateway';
import { safeEqual } from '../http/auth';
import { BadRequestError, UnauthorizedError } from '../http/errors';
import { httpHandler } from '../http/http-handler';
import { type IdentityRules, identityRulesFromEnv } from '../identity/rules';
import { logger, metric } from '../observability/logger';
import { ingestSegmentEvents } from '../segment/ingest-events';
import { verifySegmentSignature } from '../segment/signature';
import { dynamoDbClient } from '../storage/dynamodb-client';
import { DynamoDbIdentityStore } from '../storage/dynamodb-identity-store';
import { webhookEvents } from './schema';

let store: DynamoDbIdentityStore | undefined;
let rules: IdentityRules | undefined;
let warned = false;

/** Header names arrive lowercased (API Gateway payload 2.0, and httpHandler for hand-written events). */
function header(event: HttpEvent, name: string): string | undefined {
  return event.headers?.[name];
}

/** The second control: a token the Actions mapping sends with every request, covering whole batches. */
function checkWebhookToken(event: HttpEvent, token: string): void {
  const presented = header(event, 'x-crosswalk-token') ?? event.queryStringParameters?.token;
  if (!presented || !safeEqual(presented, token)) {
    throw new UnauthorizedError(
      'Missing or invalid webhook token (x-crosswalk-token header or token parameter)',
    );
  }
}

export const handler = httpHandler(async (event) => {
  const config = env();
  const { segmentSharedSecret, segmentWebhookToken } = await secrets();
  if (!segmentSharedSecret && !segmentWebhookToken) {
    if (config.REQUIRE_AUTH) throw new UnauthorizedError('The Segment webhook has no secret configured');
    if (!warned) {
      warned = true;
      logger.warn(
        'Segment webhook accepts unsigned requests: set SEGMENT_SHARED_SECRET or SEGMENT_WEBHOOK_TOKEN',
      );
    }
  }
  if (segmentWebhookToken) checkWebhookToken(event, segmentWebhookToken);

  const raw = rawBody(event);
  let body: unknown;
  let parseError: string | undefined;
  try {
    body = JSON.parse(raw);
  } catch (error) {
    parseError = (error as Error).message;
  }
  // Authenticate before saying anything about the body.
  if (
    segmentSharedSecret &&
    !verifySegmentSignature(segmentSharedSecret, header(event, 'x-signature'), raw, body)
  ) {
    throw new UnauthorizedError('Missing or invalid X-Signature');
  }
  if (raw.trim() === '')
    throw new BadRequestError('Request body is empty; expected a Segment event or an array of events');
  if (parseError !== undefined) throw new BadRequestError(`Request body is not valid JSON: ${parseError}`);
  const parsed = webhookEvents(body, config.MAX_WEBHOOK_BATCH);
  if (!parsed.ok) throw new BadRequestError(parsed.reason);

  store ??= new DynamoDbIdentityStore({ client: dynamoDbClient(), tableName: config.TABLE_NAME });
  rules ??= identityRulesFromEnv(config);
  const summary = await ingestSegmentEvents(parsed.events, {
    store,
    rules,
    profileTtlDays: config.PROFILE_TTL_DAYS,
    messageIdTtlHours: config.MESSAGE_ID_TTL_HOURS,
  });
  metric('SegmentEventsAccepted', summary.accepted);
  metric('SegmentDynamoDbRequests', summary.dynamoDbRequests);
  logger.info('segment batch ingested', {
    events: parsed.events.length,
    accepted: summary.accepted,
    duplicates: summary.duplicates,
    rejected: summary.rejected.length,
    dynamoDbRequests: summary.dynamoDbRequests,
  });
  return json(200, {
    accepted: summary.accepted,
    duplicates: summary.duplicates,
    rejected: summary.rejected,
  });
});

/** Tests change TABLE_NAME between files: forget the module-scope store. */
export function resetSegmentWebhook(): void {
  store = undefined;
  rules = undefined;
  warned = false;
}
