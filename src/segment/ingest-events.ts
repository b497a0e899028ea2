/**
 * Segment events in, identity graph updated: checks every event of a webhook body against the
 * event rules (event-rules.ts) and the Spec (spec.ts), reports the ones that break a rule by index
 * with the rule's name, and ingests the rest as one batch.
 */

import type { IdentityChange } from '../identity/graph';
import { type IngestOptions, ingestChanges } from '../identity/ingest';
import { changeProblem, type EventLimits, rawEventProblem } from './event-rules';
import { toIdentityChange } from './identity-change';
import { parseSegmentEvent } from './spec';

export interface RejectedEvent {
  index: number;
  messageId?: string;
  reason: string;
}

export interface SegmentIngestSummary {
  accepted: number;
  duplicates: number;
  rejected: RejectedEvent[];
}

function messageIdOf(input: unknown): string | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined;
  const id = (input as { messageId?: unknown }).messageId;
  return typeof id === 'string' ? id.slice(0, 100) : undefined;
}

/**
 * One event through every rule, in the order that keeps each check safe for the next (the webhook's,
 * and a backfill's for each line of Segment's S3 archive).
 */
export function checkSegmentEvent(
  input: unknown,
  limits: EventLimits,
  receivedAt: number,
): { ok: true; change: IdentityChange } | { ok: false; reason: string } {
  const raw = rawEventProblem(input, limits);
  if (raw) return { ok: false, reason: raw };
  const parsed = parseSegmentEvent(input);
  if (!parsed.ok) return parsed;
  const change = toIdentityChange(parsed.event, receivedAt);
  const problem = changeProblem(change, limits, receivedAt);
  return problem ? { ok: false, reason: problem } : { ok: true, change };
}

export async function ingestSegmentEvents(
  inputs: readonly unknown[],
  options: IngestOptions & { limits: EventLimits },
): Promise<SegmentIngestSummary> {
  const rejected: RejectedEvent[] = [];
  const changes: IdentityChange[] = [];
  const indexes: number[] = [];
  const receivedAt = (options.now ?? Date.now)();
  inputs.forEach((input, index) => {
    const checked = checkSegmentEvent(input, options.limits, receivedAt);
    if (checked.ok) {
      changes.push(checked.change);
      indexes.push(index);
    } else {
      const messageId = messageIdOf(input);
      rejected.push({ index, ...(messageId ? { messageId } : {}), reason: checked.reason });
    }
  });
  if (changes.length === 0) return { accepted: 0, duplicates: 0, rejected };

  const result = await ingestChanges(changes, options);
  result.results.forEach((r, k) => {
    if (r.status !== 'rejected') return;
    const index = indexes[k]!;
    rejected.push({ index, messageId: changes[k]!.messageId, reason: r.reason });
  });
  rejected.sort((a, b) => a.index - b.index);
  return {
    accepted: result.accepted,
    duplicates: result.duplicates,
    rejected,
  };
}
