/**
 * POST /webhooks/optimizely: Optimizely's datafile webhook. Verifies `X-Hub-Signature`
 * (src/platform/http/webhook-auth.ts), then fetches the new datafile and stores it in DynamoDB, where every
 * container's next cold start (and this one) finds it. The datafile is fetched from
 * OPTIMIZELY_DATAFILE_URL_TEMPLATE for the SDK key named by `cdn_url`, never from an arbitrary URL in
 * the body. A CDN fault answers 503 so the delivery can be retried.
 */

import type { DatafileSource } from '../../src/optimizely/datafile-source';
import { InvalidRequestError, UnauthenticatedError } from '../../src/platform/core/errors';
import { nestingProblem } from '../../src/platform/core/nesting';
import * as z from '../../src/platform/core/zod';
import { header, json, rawBody } from '../../src/platform/http/api-gateway';
import { httpHandler, type LambdaHttpHandler } from '../../src/platform/http/http-handler';
import { routeOperations } from '../../src/platform/http/operations';
import { verifyHubSignature } from '../../src/platform/http/webhook-auth';
import type { Observability } from '../../src/platform/observability/logger';
import type { SecretsSource } from '../../src/platform/secrets';
import { optimizelyWebhookSchema, sdkKeyFromDatafileUrl } from './schema';

export interface OptimizelyWebhookDependencies {
  secrets: SecretsSource;
  /** Called for a request when no webhook secret is configured (see webhook-auth.ts). */
  unsigned: () => void;
  datafiles: DatafileSource;
  observability: Observability;
}

export function createOptimizelyWebhookHandler(deps: OptimizelyWebhookDependencies): LambdaHttpHandler {
  const { logger } = deps.observability;
  return httpHandler(
    routeOperations('optimizely-webhook', {
      datafileUpdated: async (event) => {
        const raw = rawBody(event);
        const { optimizelyWebhookSecret } = await deps.secrets.get();
        if (!optimizelyWebhookSecret) deps.unsigned();
        else if (!verifyHubSignature(optimizelyWebhookSecret, raw, header(event, 'x-hub-signature'))) {
          throw new UnauthenticatedError('Missing or invalid X-Hub-Signature');
        }

        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          throw new InvalidRequestError('Request body is not valid JSON');
        }
        const tooDeep = nestingProblem(body);
        if (tooDeep) throw new InvalidRequestError(tooDeep);
        const parsed = optimizelyWebhookSchema.safeParse(body);
        if (!parsed.success) throw new InvalidRequestError(z.describeIssues(parsed.error));
        if (parsed.data.event !== 'project.datafile_updated') {
          return json(202, { ignored: true, reason: `event ${parsed.data.event} is not handled` });
        }
        const sdkKey = sdkKeyFromDatafileUrl(parsed.data.data.cdn_url);
        if (!sdkKey)
          throw new InvalidRequestError('data.cdn_url does not name a datafile (…/datafiles/<sdkKey>.json)');

        const stored = await deps.datafiles.refresh(sdkKey);
        if (!stored) throw new InvalidRequestError(`The CDN has no datafile for SDK key ${sdkKey}`);
        const announced = Number(parsed.data.data.revision);
        if (Number.isFinite(announced) && stored.revision < announced) {
          logger.warn('the CDN still serves an older datafile than the webhook announced', {
            sdkKey,
            announced,
            fetched: stored.revision,
          });
        }
        return json(200, { sdkKey, revision: stored.revision });
      },
    }),
    deps.observability,
  );
}
