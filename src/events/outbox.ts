/**
 * The outbox of Optimizely event batches not delivered yet: what the request path stores before it
 * answers (the relay sends it at once), what the redelivery function sends again when the relay
 * could not, what a Segment delete's erasure clears. The
 * DynamoDB adapter (dynamodb/outbox.ts) alone knows where and how batches are stored.
 */
import type { EventBatch } from './event-batch';

/** Where stored batches are; opaque outside the adapter (only it builds keys). */
export interface OutboxRef {
  readonly keys: readonly { readonly pk: string; readonly sk: string }[];
}

export interface OutboxEntry {
  batch: EventBatch;
  /** Epoch ms from which the redelivery function may send it. */
  dueAt: number;
  /** Epoch seconds after which DynamoDB's TTL may delete it (past the delivery cut-off). */
  expiresAt: number;
  /** Hand it to the relay through the table's stream (the request path's items). */
  relay?: boolean;
}

export interface StoredBatch {
  ref: OutboxRef;
  batch: EventBatch;
  /** Redelivery attempts so far (the request's own attempt is not counted). */
  attempts: number;
  dueAt: number;
  /** Epoch ms of its oldest event. */
  firstEventAt: number;
  /** Snapshot events in it. */
  events: number;
  expiresAt: number;
}

/** What the request path needs of the outbox: store, and delete once delivered. */
export interface OutboxWriter {
  /** Stores each entry (split when too big for one item); one ref per entry. */
  put(entries: readonly OutboxEntry[]): Promise<OutboxRef[]>;
  /** Deletes what `ref` names; already gone is fine. */
  remove(ref: OutboxRef): Promise<void>;
}

/** The port the redelivery use case uses; tests may give it (and the request path) an in-memory one. */
export interface EventOutbox extends OutboxWriter {
  /** Batches due at `now`, a page at a time, each shard in due order. */
  due(now: number, pageSize: number): AsyncIterable<StoredBatch[]>;
  /**
   * Moves a stored batch to `dueAt` with one more attempt, if it is still where `item` says: the
   * claim before a send. Null when another run moved or removed it first.
   */
  reschedule(item: StoredBatch, dueAt: number): Promise<StoredBatch | null>;
}

/** What a Segment delete's erasure needs of the outbox (identity/erasure.ts). */
export interface OutboxEraser {
  /**
   * Removes every stored event of these visitors (experiment ids), due or not. `complete` is false
   * when an item moved while it was being rewritten (a redelivery claimed it): run again.
   */
  eraseVisitors(visitorIds: ReadonlySet<string>): Promise<{ events: number; complete: boolean }>;
}
