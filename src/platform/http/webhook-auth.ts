/**
 * How the two webhooks authenticate their senders, in one place:
 *
 * - Segment: `X-Signature` = hex HMAC-SHA1(shared secret, body). A batch (JSON array) is signed over
 *   `JSON.stringify(body[0])` only, so the rest of a batch is not covered; the webhook token
 *   (`x-crosswalk-token` header or `token` query parameter, set in the Actions mapping) covers the
 *   whole request.
 * - Optimizely: `X-Hub-Signature` = `sha1=` + hex HMAC-SHA1(secret, body).
 * - A webhook with no secret configured accepts unsigned requests locally (with one warning) and
 *   refuses everything when `REQUIRE_AUTH` is set, as in every deployed stack.
 */
import { createHmac } from 'node:crypto';
import { UnauthenticatedError } from '../core/errors';
import type { Logger } from '../observability/logger';
import { safeEqual } from './auth';

export function hmacSha1Hex(secret: string, payload: string): string {
  return createHmac('sha1', secret).update(payload, 'utf8').digest('hex');
}

/** The exact text Segment signs for this body: the raw body for one event, body[0] for a batch. */
export function segmentSignedPayload(rawBody: string, parsed: unknown): string | undefined {
  if (!Array.isArray(parsed)) return rawBody;
  if (parsed.length === 0) return undefined;
  return JSON.stringify(parsed[0]);
}

/**
 * Verifies Segment's `X-Signature` in constant time. The raw body is tried first (a single event as
 * sent); for a batch, also the re-serialised first element, as Segment computes it.
 */
export function verifySegmentSignature(
  secret: string,
  signature: string | undefined,
  rawBody: string,
  parsed: unknown,
): boolean {
  if (!signature) return false;
  const presented = signature.trim().toLowerCase();
  let ok = safeEqual(presented, hmacSha1Hex(secret, rawBody));
  const payload = Array.isArray(parsed) ? segmentSignedPayload(rawBody, parsed) : undefined;
  if (payload !== undefined) ok = safeEqual(presented, hmacSha1Hex(secret, payload)) || ok;
  return ok;
}

/** True when `header` is `sha1=<hex>` of HMAC-SHA1(secret, body); compared in constant time. */
export function verifyHubSignature(secret: string, body: string, header: string | undefined): boolean {
  if (!header) return false;
  return safeEqual(header.trim().toLowerCase(), `sha1=${hmacSha1Hex(secret, body)}`);
}

export function verifyWebhookToken(token: string, presented: string | undefined): void {
  if (!presented || !safeEqual(presented, token)) {
    throw new UnauthenticatedError(
      'Missing or invalid webhook token (x-crosswalk-token header or token parameter)',
    );
  }
}

/**
 * The policy for a webhook that has no secret configured: refused under REQUIRE_AUTH, else accepted
 * with one warning per container. Returns a function to call on each request that has none.
 */
export function unsignedWebhookPolicy(options: {
  webhook: string;
  setting: string;
  requireAuth: boolean;
  logger: Logger;
}): () => void {
  let warned = false;
  return () => {
    if (options.requireAuth) {
      throw new UnauthenticatedError(`The ${options.webhook} webhook has no secret configured`);
    }
    if (!warned) {
      warned = true;
      options.logger.warn(`${options.webhook} webhook accepts unsigned requests: set ${options.setting}`);
    }
  };
}
