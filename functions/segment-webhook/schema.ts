/**
 * The webhook request: one Segment event (a JSON object) or a batch (a JSON array of them). Each
 * element is validated separately (functions/segment/spec.ts) so one bad event does not sink a batch.
 */
import * as z from 'zod/mini';
import '../config/zod-messages';

export function webhookBodySchema(maxBatch: number) {
  const element = z.unknown();
  return z.union([
    z
      .array(element)
      .check(
        z.minLength(1, 'batch is empty'),
        z.maxLength(maxBatch, `batch has more than ${maxBatch} events`),
      ),
    z.pipe(
      z.record(z.string(), z.unknown()),
      z.transform((event) => [event] as unknown[]),
    ),
  ]);
}

/** The events of a webhook body, or a message naming why the body is not acceptable. */
export function webhookEvents(
  body: unknown,
  maxBatch: number,
): { ok: true; events: unknown[] } | { ok: false; reason: string } {
  if (Array.isArray(body)) {
    if (body.length === 0)
      return { ok: false, reason: 'Batch is empty: expected at least one Segment event' };
    if (body.length > maxBatch) {
      return {
        ok: false,
        reason: `Batch has ${body.length} events; at most ${maxBatch} are accepted (MAX_WEBHOOK_BATCH)`,
      };
    }
  } else if (typeof body !== 'object' || body === null) {
    return {
      ok: false,
      reason: 'Body is not a Segment event or an array of events (expected a JSON object or array)',
    };
  }
  const parsed = webhookBodySchema(maxBatch).safeParse(body);
  if (!parsed.success) return { ok: false, reason: parsed.error.issues[0]?.message ?? 'invalid body' };
  return { ok: true, events: parsed.data };
}
