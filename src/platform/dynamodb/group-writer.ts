/**
 * Puts and deletes on one table, committed in groups under concurrency. A write that finds nothing in
 * flight goes at once, as its own `PutItem` / `DeleteItem` requests: a Lambda environment serves one
 * request at a time, so there every write takes this path and nothing waits. Writes that arrive while
 * one is in flight (the local server's concurrent requests, the relay's deletes of a batch) wait for it
 * and then go together, 25 to a `BatchWriteItem`, so a busy process sends one request per 25 items
 * instead of one per item. Unconditional puts and deletes only (what `BatchWriteItem` allows).
 *
 * A waiting write still ends by its caller's deadline (core/deadline.ts); the group it joined is sent
 * outside any request's scope, so one caller's deadline or request counter does not cut or count the
 * others' items. Items `BatchWriteItem` leaves unprocessed are sent again, at most `MAX_ROUNDS` times;
 * a caller whose items still did not all land gets a DependencyUnavailableError.
 */
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { beforeDeadline } from '../core/deadline';
import { DependencyUnavailableError } from '../core/errors';
import { outsideScope } from '../core/request-scope';
import { TABLE_PARTITION_KEY as PK, TABLE_SORT_KEY as SK } from './table-schema';

const BATCH_LIMIT = 25;
const MAX_ROUNDS = 4;

interface Waiting {
  requests: readonly WriteRequest[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class GroupWriter {
  private inFlight = false;
  private waiting: Waiting[] = [];

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** Resolves once every one of `requests` is written; rejects when any is not. */
  write(requests: readonly WriteRequest[]): Promise<void> {
    if (requests.length === 0) return Promise.resolve();
    if (!this.inFlight) {
      this.inFlight = true;
      return this.settle(Promise.all(requests.map((request) => this.sendOne(request))));
    }
    const joined = new Promise<void>((resolve, reject) => this.waiting.push({ requests, resolve, reject }));
    return beforeDeadline(
      joined,
      () => new DependencyUnavailableError('A grouped DynamoDB write did not finish before the deadline'),
    );
  }

  private sendOne(request: WriteRequest): Promise<unknown> {
    const TableName = this.tableName;
    if (request.PutRequest)
      return this.client.send(new PutItemCommand({ TableName, Item: request.PutRequest.Item }));
    if (request.DeleteRequest)
      return this.client.send(new DeleteItemCommand({ TableName, Key: request.DeleteRequest.Key }));
    return Promise.reject(new TypeError('a write request is a put or a delete'));
  }

  /** Ends the write in flight; the writes that waited for it go next, as one group. */
  private settle(sent: Promise<unknown>): Promise<void> {
    return sent.then(
      () => this.next(),
      (error: unknown) => {
        this.next();
        throw error;
      },
    );
  }

  private next(): void {
    const group = this.waiting;
    if (group.length === 0) {
      this.inFlight = false;
      return;
    }
    this.waiting = [];
    outsideScope(() => {
      void this.settle(this.sendGroup(group)).catch(() => undefined);
    });
  }

  /** Sends a group's requests in batches of 25; settles each waiting write by how its own items fared. */
  private async sendGroup(group: Waiting[]): Promise<void> {
    const all = group.flatMap((waiting) => waiting.requests);
    const batches: WriteRequest[][] = [];
    for (let i = 0; i < all.length; i += BATCH_LIMIT) batches.push(all.slice(i, i + BATCH_LIMIT));
    const outcomes = await Promise.allSettled(batches.map((batch) => this.sendBatch(batch)));
    const failed = new Map<WriteRequest, unknown>();
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'rejected')
        for (const request of batches[i]!) failed.set(request, outcome.reason);
      else for (const request of outcome.value) failed.set(request, outcome.value.length);
    });
    for (const waiting of group) {
      const miss = waiting.requests.find((request) => failed.has(request));
      if (miss === undefined) waiting.resolve();
      else {
        const reason = failed.get(miss);
        waiting.reject(
          typeof reason === 'number'
            ? new DependencyUnavailableError('DynamoDB left part of a grouped write unprocessed (throttling)')
            : reason,
        );
      }
    }
  }

  /** One batch, with what DynamoDB leaves unprocessed sent again; answers what still was not written. */
  private async sendBatch(batch: WriteRequest[]): Promise<WriteRequest[]> {
    let left = batch;
    for (let round = 0; round < MAX_ROUNDS && left.length > 0; round++) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** round));
      const answer = await this.client.send(
        new BatchWriteItemCommand({ RequestItems: { [this.tableName]: left } }),
      );
      const unprocessed = answer.UnprocessedItems?.[this.tableName] ?? [];
      // DynamoDB answers copies of the requests it did not process: map them back to ours by key.
      left =
        unprocessed.length === 0
          ? []
          : left.filter((request) => unprocessed.some((u) => sameKey(u, request)));
    }
    return left;
  }
}

function keyOf(request: WriteRequest): string {
  const item = request.PutRequest?.Item ?? request.DeleteRequest?.Key ?? {};
  return `${item[PK]?.S}\u0000${item[SK]?.S}`;
}

function sameKey(a: WriteRequest, b: WriteRequest): boolean {
  return Boolean(a.PutRequest) === Boolean(b.PutRequest) && keyOf(a) === keyOf(b);
}
