/** The event outbox in tests: what a test table holds (through the adapter), and an in-memory port. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbEventOutbox } from '../../src/events/dynamodb/outbox';
import { eventCount, eventUuids, oldestEventTime } from '../../src/events/event-batch';
import type { EventOutbox, OutboxEntry, OutboxRef, StoredBatch } from '../../src/events/outbox';
import { DependencyUnavailableError } from '../../src/platform/core/errors';

/** Every stored batch, due or not. */
export async function outboxContents(table: {
  client: DynamoDBClient;
  tableName: string;
}): Promise<StoredBatch[]> {
  const outbox = new DynamoDbEventOutbox({ client: table.client, tableName: table.tableName });
  const all: StoredBatch[] = [];
  for await (const page of outbox.due(Number.MAX_SAFE_INTEGER, 100)) all.push(...page);
  return all;
}

/** The uuids of every event the outbox holds. */
export async function outboxUuids(table: { client: DynamoDBClient; tableName: string }): Promise<string[]> {
  return (await outboxContents(table)).flatMap((stored) => eventUuids(stored.batch));
}

/** A port implementation of the outbox in memory, with failure switches, for the delivery unit tests. */
export class InMemoryEventOutbox implements EventOutbox {
  readonly items = new Map<string, StoredBatch>();
  failPuts = false;
  failRemoves = false;
  private next = 0;

  async put(entries: readonly OutboxEntry[]): Promise<OutboxRef[]> {
    if (this.failPuts) throw new DependencyUnavailableError('outbox down');
    return entries.map((entry) => {
      const key = { pk: 'OUTBOX#0', sk: String(this.next++) };
      this.items.set(key.sk, {
        ref: { keys: [key] },
        batch: entry.batch,
        attempts: 0,
        dueAt: entry.dueAt,
        firstEventAt: oldestEventTime(entry.batch, 0),
        events: eventCount(entry.batch),
        expiresAt: entry.expiresAt,
      });
      return { keys: [key] };
    });
  }

  async remove(ref: OutboxRef): Promise<void> {
    if (this.failRemoves) throw new DependencyUnavailableError('outbox down');
    for (const key of ref.keys) this.items.delete(key.sk);
  }

  async *due(now: number): AsyncIterable<StoredBatch[]> {
    const due = [...this.items.values()]
      .filter((item) => item.dueAt <= now)
      .sort((a, b) => a.dueAt - b.dueAt);
    if (due.length > 0) yield due;
  }

  async reschedule(item: StoredBatch, dueAt: number): Promise<StoredBatch | null> {
    const [key] = item.ref.keys;
    if (!key || !this.items.has(key.sk)) return null;
    const moved = { ...item, dueAt, attempts: item.attempts + 1 };
    this.items.set(key.sk, moved);
    return moved;
  }

  uuids(): string[] {
    return [...this.items.values()].flatMap((item) => eventUuids(item.batch));
  }
}
