/**
 * Segment's webhook signature: `X-Signature` = hex HMAC-SHA1 of the body with the shared secret.
 * A batch (JSON array) is signed over `JSON.stringify(body[0])` only, so the rest of a batch is not
 * covered; the webhook token (see README) is the control that covers the whole request.
 */
import { createHmac } from 'node:crypto';
import { safeEqual } from '../http/auth';

export function segmentSignature(secret: string, payload: string): string {
  return createHmac('sha1', secret).update(payload, 'utf8').digest('hex');
}

/** The exact text Segment signs for this body: the raw body for one event, body[0] for a batch. */
export function signedPayload(rawBody: string, parsed: unknown): string | undefined {
  if (!Array.isArray(parsed)) return rawBody;
  if (parsed.length === 0) return undefined;
  return JSON.stringify(parsed[0]);
}

/**
 * Verifies `X-Signature` in constant time. The raw body is tried first (a single event as sent);
 * for a batch, the re-serialised first element, as Segment computes it.
 */
export function verifySegmentSignature(
  secret: string,
  signature: string | undefined,
  rawBody: string,
  parsed: unknown,
): boolean {
  if (!signature) return false;
  const presented = signature.trim().toLowerCase();
  let ok = safeEqual(presented, segmentSignature(secret, rawBody));
  const payload = Array.isArray(parsed) ? signedPayload(rawBody, parsed) : undefined;
  if (payload !== undefined) ok = safeEqual(presented, segmentSignature(secret, payload)) || ok;
  return ok;
}
