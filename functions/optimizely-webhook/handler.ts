/**
 * POST /webhooks/optimizely: Optimizely's datafile webhook. Verifies `X-Hub-Signature:
 * sha1=<hex HMAC-SHA1(secret, raw body)>` in constant time, then fetches the new datafile and
 * stores it in DynamoDB, where every container's next cold start (and this one) finds it. The
 * datafile is fetched from OPTIMIZELY_DATAFILE_URL_TEMPLATE for the SDK key named by `cdn_url`,
 * never from an arbitrary URL in the body. A CDN fault answers 503 so the delivery can be retried.
 */
import { createHmac } from 'node:crypto';
import { env } from '../config/env';
import { secrets } from '../config/secrets';
import { describeIssues } from '../decide/schema';
import { decisionRuntime } from '../decisions/service';
import { json, rawBody } from '../http/api-gateway';
import { safeEqual } from '../http/auth';
import { BadRequestError, UnauthorizedError } from '../http/errors';
import { httpHandler } from '../http/http-handler';
import { logger } from '../observability/logger';
import { optimizelyWebhookSchema, sdkKeyFromDatafileUrl } from './schema';

let warned = false;

/** True when `header` is `sha1=<hex>` of HMAC-SHA1(secret, body); compared in constant time. */
export function verifyHubSignature(secret: string, body: string, header: string | undefined): boolean {
  if (!header) return false;
  const expected = `sha1=${createHmac('sha1', secret).update(body, 'utf8').digest('hex')}`;
  return safeEqual(header.trim().toLowerCase(), expected);
}

export const handler = httpHandler(async (event) => {
  const raw = rawBody(event);
  const { optimizelyWebhookSecret } = await secrets();
  if (optimizelyWebhookSecret) {
    if (!verifyHubSignature(optimizelyWebhookSecret, raw, event.headers?.['x-hub-signature'])) {
      throw new UnauthorizedError('Missing or invalid X-Hub-Signature');
    }
  } else if (env().REQUIRE_AUTH) {
    throw new UnauthorizedError('The Optimizely webhook has no secret configured');
  } else if (!warned) {
    warned = true;
    logger.warn('Optimizely webhook accepts unsigned requests: set OPTIMIZELY_WEBHOOK_SECRET');
  }

  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new BadRequestError('Request body is not valid JSON');
  }
  const parsed = optimizelyWebhookSchema.safeParse(body);
  if (!parsed.success) throw new BadRequestError(describeIssues(parsed.error));
  if (parsed.data.event !== 'project.datafile_updated') {
    return json(202, { ignored: true, reason: `event ${parsed.data.event} is not handled` });
  }
  const sdkKey = sdkKeyFromDatafileUrl(parsed.data.data.cdn_url);
  if (!sdkKey) throw new BadRequestError('data.cdn_url does not name a datafile (…/datafiles/<sdkKey>.json)');

  const stored = await decisionRuntime().datafiles.refresh(sdkKey);
  if (!stored) throw new BadRequestError(`The CDN has no datafile for SDK key ${sdkKey}`);
  const announced = Number(parsed.data.data.revision);
  if (Number.isFinite(announced) && stored.revision < announced) {
    logger.warn('the CDN still serves an older datafile than the webhook announced', {
      sdkKey,
      announced,
      fetched: stored.revision,
    });
  }
  return json(200, { sdkKey, revision: stored.revision });
});
