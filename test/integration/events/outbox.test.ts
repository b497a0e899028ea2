/**
 * The event outbox on DynamoDB Local (src/events/dynamodb/outbox.ts): items keyed by due time in
 * a few shard partitions, found with Query, moved by a conditioned transaction that only one
 * claimant wins, split when too big for one item, expired by TTL.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoDbEventOutbox, OUTBOX_SHARDS } from '../../../src/events/dynamodb/outbox';
import { eventUuids } from '../../../src/events/event-batch';
import type { StoredBatch } from '../../../src/events/outbox';
import { OUTBOX_KEY_PREFIX } from '../../../src/platform/dynamodb/table-schema';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { eventBatch } from '../../support/events';
import { outboxContents } from '../../support/outbox';

let table: TestTable | undefined;
let outbox: DynamoDbEventOutbox;
const NOW = Date.now();

beforeAll(async () => {
  table = await createTestTable('outbox');
  outbox = new DynamoDbEventOutbox({ client: table.client, tableName: table.tableName });
});

afterAll(async () => {
  await table?.drop();
});

async function dueNow(at: number): Promise<StoredBatch[]> {
  const found: StoredBatch[] = [];
  for await (const page of outbox.due(at, 2)) found.push(...page);
  return found;
}

describe('DynamoDbEventOutbox', () => {
  it('stores batches and finds those due, each shard in due order, page by page', async () => {
    const run = randomUUID().slice(0, 6);
    const uuids = Array.from({ length: 12 }, (_, i) => `${run}-${i}`);
    await outbox.put(
      uuids.map((uuid, i) => ({
        batch: eventBatch([uuid], NOW - 1_000),
        dueAt: NOW + i * 1_000,
        expiresAt: 2e9,
      })),
    );

    const due = await dueNow(NOW + 5_500);

    expect(due.flatMap((s) => eventUuids(s.batch)).sort()).toEqual(uuids.slice(0, 6).sort());
    for (const item of due) {
      expect(item).toMatchObject({ attempts: 0, events: 1, firstEventAt: NOW - 1_000, expiresAt: 2e9 });
    }
    // Spread over the shards, in due order within each.
    const shards = new Map<string, number[]>();
    for (const item of due) {
      const pk = item.ref.keys[0]!.pk;
      expect(pk.startsWith(OUTBOX_KEY_PREFIX)).toBe(true);
      shards.set(pk, [...(shards.get(pk) ?? []), item.dueAt]);
    }
    for (const dueAts of shards.values()) expect(dueAts).toEqual([...dueAts].sort((a, b) => a - b));
    expect(shards.size).toBeLessThanOrEqual(OUTBOX_SHARDS);

    for (const item of await outboxContents(table!)) await outbox.remove(item.ref);
    expect(await outboxContents(table!)).toEqual([]);
  });

  it('asks every shard for its first page at once, then hands the shards over in order, page by page', async () => {
    const run = randomUUID().slice(0, 6);
    const uuids = Array.from({ length: 24 }, (_, i) => `${run}-${i}`);
    const refs = await outbox.put(
      uuids.map((uuid, i) => ({ batch: eventBatch([uuid], NOW - 1_000), dueAt: NOW + i, expiresAt: 2e9 })),
    );
    const queries = watchedQueries();
    const reading = new DynamoDbEventOutbox({ client: queries.client, tableName: table!.tableName });

    const pages: StoredBatch[][] = [];
    try {
      for await (const page of reading.due(NOW + 60_000, 1)) pages.push(page);
    } finally {
      for (const ref of refs) await outbox.remove(ref);
    }

    // Before any shard answered, every shard had been asked.
    expect(queries.inFlightAtFirstAnswer).toBe(OUTBOX_SHARDS);
    const found = pages.flat();
    expect(found.map((s) => eventUuids(s.batch)[0]).sort()).toEqual([...uuids].sort());
    // One page per item (page size 1), shard after shard, each shard in due order.
    expect(pages.every((page) => page.length === 1)).toBe(true);
    const shardOrder = found.map((item) => Number(item.ref.keys[0]!.pk.slice(OUTBOX_KEY_PREFIX.length)));
    expect(shardOrder).toEqual([...shardOrder].sort((a, b) => a - b));
    for (let i = 1; i < found.length; i++) {
      if (shardOrder[i] === shardOrder[i - 1]) expect(found[i]!.dueAt).toBeGreaterThan(found[i - 1]!.dueAt);
    }
  });

  it("fails on a shard's failed read when it gets there, and not at all for a shard it never reaches", async () => {
    const [ref] = await outbox.put([{ batch: eventBatch(['first-shard']), dueAt: NOW, expiresAt: 2e9 }]);
    const readShard = Number(ref!.keys[0]!.pk.slice(OUTBOX_KEY_PREFIX.length));
    const failing = `${OUTBOX_KEY_PREFIX}${OUTBOX_SHARDS - 1}`;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const queries = watchedQueries(failing);
      const reading = new DynamoDbEventOutbox({ client: queries.client, tableName: table!.tableName });
      // A caller that stops at the first page (its deadline) never hears of the last shard's failure.
      if (readShard < OUTBOX_SHARDS - 1) {
        for await (const page of reading.due(NOW, 25)) {
          expect(page.map((s) => eventUuids(s.batch)[0])).toContain('first-shard');
          break;
        }
      }
      // One that reads on gets the failure when it reaches that shard.
      await expect(async () => {
        for await (const _ of reading.due(NOW, 25)) {
          // every page
        }
      }).rejects.toThrow('shard unavailable');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await outbox.remove(ref!);
    }
  });

  it('lets exactly one of two concurrent claims move a batch, with one more attempt', async () => {
    const [ref] = await outbox.put([{ batch: eventBatch(['claimed']), dueAt: NOW, expiresAt: 2e9 }]);
    const [item] = await dueNow(NOW);
    expect(item?.ref).toEqual(ref);

    const claims = await Promise.all([
      outbox.reschedule(item!, NOW + 60_000),
      outbox.reschedule(item!, NOW + 90_000),
    ]);

    const won = claims.filter((c) => c !== null);
    expect(won).toHaveLength(1);
    expect(won[0]).toMatchObject({ attempts: 1 });
    expect(eventUuids(won[0]!.batch)).toEqual(['claimed']);
    const all = await outboxContents(table!);
    expect(all).toHaveLength(1);
    expect(await dueNow(NOW)).toEqual([]);
    await outbox.remove(all[0]!.ref);
  });

  it('splits a batch too big for one item and removes every part through one ref', async () => {
    // Random attribute values compress badly: 50 visitors of ~15 KB each are over 350 KB gzipped.
    const batch = eventBatch(Array.from({ length: 50 }, (_, i) => `big-${i}`));
    for (const visitor of batch.visitors) {
      visitor.attributes = [{ entity_id: '1', key: 'noise', type: 'custom', value: randomBytesText(15_000) }];
    }
    const [ref] = await outbox.put([{ batch, dueAt: NOW, expiresAt: 2e9 }]);

    expect(ref!.keys.length).toBeGreaterThan(1);
    const parts = await outboxContents(table!);
    expect(parts.flatMap((p) => eventUuids(p.batch)).sort()).toEqual(eventUuids(batch).sort());
    await outbox.remove(ref!);
    expect(await outboxContents(table!)).toEqual([]);
  });

  it('stores the batch gzipped with its TTL attribute, under the outbox prefix only', async () => {
    const [ref] = await outbox.put([{ batch: eventBatch(['ttl']), dueAt: NOW, expiresAt: 1_900_000_000 }]);
    const key = ref!.keys[0]!;
    const { Items } = await table!.client.send(
      new QueryCommand({
        TableName: table!.tableName,
        KeyConditionExpression: 'pk = :pk AND sk = :sk',
        ExpressionAttributeValues: { ':pk': { S: key.pk }, ':sk': { S: key.sk } },
      }),
    );
    expect(Items?.[0]?.expiresAt?.N).toBe('1900000000');
    expect(Items?.[0]?.batch?.B?.[0]).toBe(0x1f);
    expect(key.pk).toMatch(/^OUTBOX#[0-7]$/);
    await outbox.remove(ref!);
  });
});

/**
 * The test table's client with its Queries watched: how many were in flight when the first one was
 * answered, and a partition whose Query fails.
 */
function watchedQueries(failingPartition?: string): {
  client: DynamoDBClient;
  inFlightAtFirstAnswer: number;
} {
  const watched = { client: table!.client, inFlightAtFirstAnswer: 0 };
  let inFlight = 0;
  let answered = false;
  const send = async (command: QueryCommand) => {
    const partition = command.input.ExpressionAttributeValues?.[':pk']?.S;
    inFlight++;
    try {
      if (partition === failingPartition) throw new Error('shard unavailable');
      return await table!.client.send(command);
    } finally {
      if (!answered) watched.inFlightAtFirstAnswer = inFlight;
      answered = true;
      inFlight--;
    }
  };
  watched.client = { send } as unknown as DynamoDBClient;
  return watched;
}

function randomBytesText(length: number): string {
  let text = '';
  while (text.length < length) text += Math.random().toString(36).slice(2);
  return text.slice(0, length);
}
