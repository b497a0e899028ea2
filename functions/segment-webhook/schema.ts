/**
 * The webhook request: one Segment event (a JSON object) or a batch (a JSON array of them). Each
 * element is validated separately (src/segment/spec.ts) so one bad event does not sink a batch.
 */

import { InvalidRequestError } from '../../src/platform/core/errors';

/** The events of a webhook body; throws an InvalidRequestError naming why the body is not acceptable. */
export function webhookEvents(body: unknown, maxBatch: number): unknown[] {
  if (Array.isArray(body)) {
    if (body.length === 0)
      throw new InvalidRequestError('Batch is empty: expected at least one Segment event');
    if (body.length > maxBatch) {
      throw new InvalidRequestError(
        `Batch has ${body.length} events; at most ${maxBatch} are accepted (MAX_WEBHOOK_BATCH)`,
      );
    }
    return body;
  }
  if (typeof body !== 'object' || body === null) {
    throw new InvalidRequestError(
      'Body is not a Segment event or an array of events (expected a JSON object or array)',
    );
  }
  return [body];
}
