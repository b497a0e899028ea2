/**
 * The outbox of Optimizely event batches not delivered yet (the port: events/outbox.ts), on the
 * identity table, and the only code that builds its keys:
 *
 *   OUTBOX#<shard> / <dueAt, 15-digit epoch ms>#<id>   gzipped batch, attempts, firstEventAt,
 *                                                      storedAt, events, expiresAt (TTL), relay
 *
 * Sorting on the due time lets the redelivery function find what is due with one Query per shard
 * (`sk <= now`, the shards asked at once), oldest due first, without a scan or an index. The shards
 * (a fixed number: readers query each of them) spread an outage's writes over several partitions,
 * since every failed request writes here at once. Moving an item to a later due time changes its
 * key, so it is a transaction (delete where it was, put where it goes), conditioned on the item
 * still being there: two redelivery runs cannot both claim it.
 *
 * An item the request path writes carries `relay: true`: the table's stream hands exactly those
 * (new items with that attribute, table-schema.ts `OUTBOX_RELAY_FILTER`) to the relay, which sends them
 * before they are due. A claim's new item has no `relay`, so a rescheduled batch is never relayed.
 *
 * Past 300 lines on purpose: the key layout, the request path's write, the relay's and redelivery's
 * claims and the erasure all build the same keys and belong in the one module that owns them.
 */
import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { DependencyUnavailableError, isTransient } from '../../platform/core/errors';
import { GroupWriter } from '../../platform/dynamodb/group-writer';
import { queryPartition, queryPartitionPages } from '../../platform/dynamodb/query';
import {
  OUTBOX_KEY_PREFIX,
  OUTBOX_RELAY_ATTRIBUTE,
  TABLE_PARTITION_KEY as PK,
  TABLE_SORT_KEY as SK,
  TABLE_TTL_ATTRIBUTE as TTL,
} from '../../platform/dynamodb/table-schema';
import { type EventBatch, eventCount, oldestEventTime, splitBatch } from '../event-batch';
import type { EventOutbox, OutboxEntry, OutboxEraser, OutboxRef, OutboxWriter, StoredBatch } from '../outbox';

/** Fixed for the table's lifetime: items in a shard no reader queries would never be sent. */
export const OUTBOX_SHARDS = 8;
/** Leaves headroom under DynamoDB's 400 KB item limit for keys and the other attributes. */
const MAX_STORED_BYTES = 350 * 1024;
const DUE_DIGITS = 15;

type Item = Record<string, AttributeValue>;

export function outboxItemKey(shard: number, dueAt: number, id: string): { pk: string; sk: string } {
  return { pk: shardPartition(shard), sk: `${dueKey(dueAt)}#${id}` };
}

function shardPartition(shard: number): string {
  return `${OUTBOX_KEY_PREFIX}${shard}`;
}

function dueKey(dueAt: number): string {
  return String(Math.max(0, Math.floor(dueAt))).padStart(DUE_DIGITS, '0');
}

/** The item id's first 8 hex digits pick the shard: uniform, and fixed for the item's life. */
function shardOf(id: string): number {
  return Number.parseInt(id.slice(0, 8), 16) % OUTBOX_SHARDS;
}

function unavailable(what: string, error: unknown): never {
  if (isTransient(error))
    throw new DependencyUnavailableError(`Could not ${what} the event outbox`, { cause: error });
  throw error;
}

/**
 * The request path's side (decide): put and delete only, so the decide bundle carries no Query or
 * claim code; the redelivery function's adapter below adds those.
 */
export class DynamoDbOutboxWriter implements OutboxWriter {
  protected readonly client: DynamoDBClient;
  protected readonly tableName: string;
  protected readonly clock: () => number;
  /** Puts and deletes, grouped when concurrent requests of one process write at once. */
  private readonly writer: GroupWriter;

  constructor(options: { client: DynamoDBClient; tableName: string; clock?: () => number }) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.clock = options.clock ?? Date.now;
    this.writer = new GroupWriter(this.client, this.tableName);
  }

  async put(entries: readonly OutboxEntry[]): Promise<OutboxRef[]> {
    const storedAt = this.clock();
    return Promise.all(
      entries.map(async (entry) => {
        const items = this.items(entry.batch, entry, 0, storedAt);
        try {
          await this.writer.write(items.map((item) => ({ PutRequest: { Item: item } })));
        } catch (error) {
          unavailable('write to', error);
        }
        return { keys: items.map((item) => ({ pk: item[PK]!.S!, sk: item[SK]!.S! })) };
      }),
    );
  }

  async remove(ref: OutboxRef): Promise<void> {
    try {
      await this.writer.write(
        ref.keys.map((key) => ({ DeleteRequest: { Key: { [PK]: { S: key.pk }, [SK]: { S: key.sk } } } })),
      );
    } catch (error) {
      unavailable('delete from', error);
    }
  }

  /** The items storing one batch: one, or several when its compressed form is too big for one. */
  protected items(
    batch: EventBatch,
    entry: { dueAt: number; expiresAt: number; relay?: boolean },
    attempts: number,
    storedAt: number,
  ): Item[] {
    const attributes = itemAttributes(batch, entry, attempts, oldestEventTime(batch, storedAt));
    if (attributes.batch!.B!.length > MAX_STORED_BYTES) {
      const halves = splitBatch(batch);
      if (!halves) throw new Error('One visitor of an event batch is too big to store');
      return halves.flatMap((half) => this.items(half, entry, attempts, storedAt));
    }
    const id = randomUUID();
    return [
      {
        ...keyAttributes(outboxItemKey(shardOf(id), entry.dueAt, id)),
        ...attributes,
        storedAt: { N: String(storedAt) },
        ...('relay' in entry && entry.relay ? { [OUTBOX_RELAY_ATTRIBUTE]: { BOOL: true } } : {}),
      },
    ];
  }
}

/** The redelivery function's adapter: the writer, plus finding what is due and claiming it. */
export class DynamoDbEventOutbox extends DynamoDbOutboxWriter implements EventOutbox, OutboxEraser {
  async eraseVisitors(visitorIds: ReadonlySet<string>): Promise<{ events: number; complete: boolean }> {
    let events = 0;
    let complete = true;
    if (visitorIds.size === 0) return { events, complete };
    for (let shard = 0; shard < OUTBOX_SHARDS; shard++) {
      for await (const item of queryPartition(this.client, this.tableName, shardPartition(shard))) {
        const batch = stored(item).batch;
        const visitors = batch.visitors.filter((v) => !visitorIds.has(v.visitor_id));
        if (visitors.length === batch.visitors.length) continue;
        const before = eventCount(batch);
        const kept = { ...batch, visitors };
        const condition = {
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK },
        };
        try {
          if (visitors.length === 0) {
            await this.client.send(
              new DeleteItemCommand({
                TableName: this.tableName,
                Key: keyAttributes(stored(item).ref.keys[0]!),
                ...condition,
              }),
            );
          } else {
            // The same key and schedule; only the batch (and its count) change.
            await this.client.send(
              new PutItemCommand({
                TableName: this.tableName,
                Item: {
                  ...item,
                  batch: { B: gzipSync(JSON.stringify(kept)) },
                  events: { N: String(eventCount(kept)) },
                },
                ...condition,
              }),
            );
          }
          events += before - eventCount(kept);
        } catch (error) {
          if ((error as Error).name !== 'ConditionalCheckFailedException') unavailable('update', error);
          complete = false;
        }
      }
    }
    return { events, complete };
  }

  /**
   * Every shard's first page is asked for at once, then the shards are handed over one after the
   * other as before, each in due order, a page at a time (the later pages of a shard when its
   * earlier ones are taken). A run that finds little or nothing due, as most do, waits for one
   * round trip instead of one per shard. A page read ahead may be stale by the time it is taken:
   * a claim is conditioned on the item still being there (`reschedule`), so nothing is sent twice.
   */
  async *due(now: number, pageSize: number): AsyncIterable<StoredBatch[]> {
    // '~' sorts after every character of an id, so every item due at `now` is included.
    const range = { sortKeyAtMost: `${dueKey(now)}#~`, pageSize };
    const shards = Array.from({ length: OUTBOX_SHARDS }, (_, shard) =>
      queryPartitionPages(this.client, this.tableName, shardPartition(shard), range),
    );
    const firstPages = shards.map((pages) => pages.next());
    // A shard the caller never reaches (it stopped at its deadline, or an earlier shard failed)
    // must not fail the process with an unhandled rejection; a shard it reaches throws as before.
    for (const first of firstPages) first.catch(() => {});
    for (const [shard, pages] of shards.entries()) {
      for (let page = await firstPages[shard]!; !page.done; page = await pages.next()) {
        yield page.value.map(stored);
      }
    }
  }

  async reschedule(item: StoredBatch, dueAt: number): Promise<StoredBatch | null> {
    const [from] = item.ref.keys;
    if (!from) return null;
    const id = from.sk.slice(from.sk.indexOf('#') + 1);
    const shard = Number(from.pk.slice(OUTBOX_KEY_PREFIX.length));
    const next: Item = {
      ...itemAttributes(
        item.batch,
        { dueAt, expiresAt: item.expiresAt },
        item.attempts + 1,
        item.firstEventAt,
      ),
      ...keyAttributes(outboxItemKey(shard, dueAt, id)),
      storedAt: { N: String(this.clock()) },
    };
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.tableName,
                Key: keyAttributes(from),
                ConditionExpression: 'attribute_exists(#pk)',
                ExpressionAttributeNames: { '#pk': PK },
              },
            },
            { Put: { TableName: this.tableName, Item: next } },
          ],
        }),
      );
    } catch (error) {
      const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      if (reasons.some((r) => r.Code === 'ConditionalCheckFailed')) return null;
      unavailable('update', error);
    }
    return stored(next);
  }
}

function itemAttributes(
  batch: EventBatch,
  entry: { dueAt: number; expiresAt: number },
  attempts: number,
  firstEventAt: number,
): Item {
  return {
    batch: { B: gzipSync(JSON.stringify(batch)) },
    attempts: { N: String(attempts) },
    dueAt: { N: String(Math.floor(entry.dueAt)) },
    firstEventAt: { N: String(firstEventAt) },
    events: { N: String(eventCount(batch)) },
    [TTL]: { N: String(Math.floor(entry.expiresAt)) },
  };
}

function keyAttributes(key: { pk: string; sk: string }): Item {
  return { [PK]: { S: key.pk }, [SK]: { S: key.sk } };
}

function stored(item: Item): StoredBatch {
  return {
    ref: { keys: [{ pk: item[PK]!.S!, sk: item[SK]!.S! }] },
    batch: JSON.parse(gunzipSync(item.batch!.B!).toString('utf8')) as EventBatch,
    attempts: Number(item.attempts?.N ?? 0),
    dueAt: Number(item.dueAt?.N ?? 0),
    firstEventAt: Number(item.firstEventAt?.N ?? 0),
    events: Number(item.events?.N ?? 0),
    expiresAt: Number(item[TTL]?.N ?? 0),
  };
}

/**
 * An attribute value as a Lambda stream event carries it (binary as base64 text) or as the AWS SDK
 * returns it (binary as bytes).
 */
export interface StreamAttributeValue {
  S?: string;
  N?: string;
  B?: string | Uint8Array;
  BOOL?: boolean;
}

/**
 * The stored batch a stream record's new image holds; null when the image is not an outbox item.
 * The relay reads items from here, not from the table: the record carries the whole item.
 */
export function storedBatchFromImage(image: Record<string, StreamAttributeValue>): StoredBatch | null {
  const pk = image[PK]?.S;
  const sk = image[SK]?.S;
  const batch = image.batch?.B;
  if (!pk?.startsWith(OUTBOX_KEY_PREFIX) || !sk || batch === undefined) return null;
  const bytes = typeof batch === 'string' ? Buffer.from(batch, 'base64') : batch;
  return stored({
    [PK]: { S: pk },
    [SK]: { S: sk },
    batch: { B: bytes },
    attempts: { N: image.attempts?.N ?? '0' },
    dueAt: { N: image.dueAt?.N ?? '0' },
    firstEventAt: { N: image.firstEventAt?.N ?? '0' },
    events: { N: image.events?.N ?? '0' },
    [TTL]: { N: image[TTL]?.N ?? '0' },
  });
}
