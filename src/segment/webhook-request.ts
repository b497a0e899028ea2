/**
 * A Segment webhook request, authenticated and parsed as JSON, before anything about the body is
 * said, so an unauthenticated sender learns nothing:
 *
 * - the webhook token (SEGMENT_WEBHOOK_TOKEN), when configured, over the whole request;
 * - `X-Signature` (SEGMENT_SHARED_SECRET), when configured: over the raw body for one event, over
 *   `JSON.stringify(body[0])` for a batch, as Segment signs;
 * - a batch is accepted only with the token: Segment signs only its first event, so with the
 *   shared secret alone anyone holding one captured request could append forged events to it;
 * - neither configured: the unsigned policy (refused under REQUIRE_AUTH, else accepted with a warning).
 *
 * Nothing here can throw on hostile input: JSON.parse is iterative, and the one recursive step
 * (re-serializing body[0]) runs only on an element whose nesting was measured first.
 */

import { InvalidRequestError, UnauthenticatedError } from '../platform/core/errors';
import { nestedDeeperThan } from '../platform/core/nesting';
import { type HttpEvent, header, rawBody } from '../platform/http/api-gateway';
import { verifySegmentSignature, verifyWebhookToken } from '../platform/http/webhook-auth';
import type { SecretsSource } from '../platform/secrets';
import { MAX_EVENT_DEPTH } from './event-rules';

export interface SegmentRequestOptions {
  secrets: SecretsSource;
  /** Called for a request when no Segment secret is configured (see webhook-auth.ts). */
  unsigned: () => void;
}

const BATCH_NEEDS_TOKEN =
  'Batches need SEGMENT_WEBHOOK_TOKEN: Segment signs only the first event of a batch, so a shared secret ' +
  'cannot authenticate the rest. Set segmentWebhookToken in the secret and send it from the Actions ' +
  'mapping as the x-crosswalk-token header, or turn batching off';

/** The JSON body of an authenticated request (one event or a batch), not yet validated. */
export async function authenticatedSegmentBody(
  event: HttpEvent,
  options: SegmentRequestOptions,
): Promise<unknown> {
  const { segmentSharedSecret, segmentWebhookToken } = await options.secrets.get();
  if (segmentWebhookToken) {
    verifyWebhookToken(
      segmentWebhookToken,
      header(event, 'x-crosswalk-token') ?? event.queryStringParameters?.token,
    );
  }

  const raw = rawBody(event);
  let body: unknown;
  let parseError: string | undefined;
  try {
    body = JSON.parse(raw);
  } catch (error) {
    parseError = (error as Error).message;
  }

  if (segmentSharedSecret) {
    if (Array.isArray(body) && !segmentWebhookToken) throw new UnauthenticatedError(BATCH_NEEDS_TOKEN);
    // Segment computes a batch's signature over JSON.stringify(body[0]): only measurable elements
    // are re-serialized; one too deep to serialize cannot carry a valid signature.
    const signable = !Array.isArray(body) || !nestedDeeperThan(body[0], MAX_EVENT_DEPTH);
    if (!signable || !verifySegmentSignature(segmentSharedSecret, header(event, 'x-signature'), raw, body)) {
      throw new UnauthenticatedError('Missing or invalid X-Signature');
    }
  } else if (!segmentWebhookToken) {
    options.unsigned();
  }

  if (raw.trim() === '')
    throw new InvalidRequestError('Request body is empty; expected a Segment event or an array of events');
  if (parseError !== undefined)
    throw new InvalidRequestError(`Request body is not valid JSON: ${parseError}`);
  return body;
}
