/**
 * Segment events in, identity graph updated: validates every event of a webhook body, reports the
 * invalid ones by index, and ingests the rest as one batch.
 */

import type { IdentityChange } from '../identity/graph';
import { type IngestOptions, ingestChanges } from '../identity/ingest';
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
  const id = (input as { messageId?: unknown } | null)?.messageId;
  return typeof id === 'string' ? id.slice(0, 100) : undefined;
}

export async function ingestSegmentEvents(
  inputs: readonly unknown[],
  options: IngestOptions,
): Promise<SegmentIngestSummary> {
  const rejected: RejectedEvent[] = [];
  const changes: IdentityChange[] = [];
  const indexes: number[] = [];
  const receivedAt = (options.now ?? Date.now)();
  inputs.forEach((input, index) => {
    const parsed = parseSegmentEvent(input);
    if (!parsed.ok) {
      const messageId = messageIdOf(input);
      rejected.push({ index, ...(messageId ? { messageId } : {}), reason: parsed.reason });
      return;
    }
    changes.push(toIdentityChange(parsed.event, receivedAt));
    indexes.push(index);
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
