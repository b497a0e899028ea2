/**
 * A Segment webhook request, authenticated and parsed as JSON: the webhook token (when configured) over the
 * whole request, `X-Signature` over what Segment signs, the unsigned policy when neither secret is
 * configured, and only then anything about the body, so an unauthenticated sender learns nothing.
 */
import type { SecretsSource } from '../config/secrets';
import { InvalidRequestError, UnauthenticatedError } from '../core/errors';
import { type HttpEvent, header, rawBody } from '../http/api-gateway';
import { verifySegmentSignature, verifyWebhookToken } from '../http/webhook-auth';

export interface SegmentRequestOptions {
  secrets: SecretsSource;
  /** Called for a request when no Segment secret is configured (see webhook-auth.ts). */
  unsigned: () => void;
}

/** The JSON body of an authenticated request (one event or a batch), not yet validated. */
export async function authenticatedSegmentBody(
  event: HttpEvent,
  options: SegmentRequestOptions,
): Promise<unknown> {
  const { segmentSharedSecret, segmentWebhookToken } = await options.secrets.get();
  if (!segmentSharedSecret && !segmentWebhookToken) options.unsigned();
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
  if (
    segmentSharedSecret &&
    !verifySegmentSignature(segmentSharedSecret, header(event, 'x-signature'), raw, body)
  ) {
    throw new UnauthenticatedError('Missing or invalid X-Signature');
  }
  if (raw.trim() === '')
    throw new InvalidRequestError('Request body is empty; expected a Segment event or an array of events');
  if (parseError !== undefined)
    throw new InvalidRequestError(`Request body is not valid JSON: ${parseError}`);
  return body;
}
