/**
 * The local stand-in for the relay's trigger (Lambda's DynamoDB Streams event source mapping):
 * `npm start`, the tests and the bench read the local table's stream with the real DynamoDB Streams
 * client, keep the records the stack's filter keeps (`OUTBOX_RELAY_FILTER`), and hand them to the
 * same handler in Lambda's event shape (binary attributes as base64), a batch at a time: up to
 * `batchSize` records, or what came within `windowMs` of the first one, as the mapping's batch size
 * and batching window do. One batch in flight at a time, as Lambda runs one per shard.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { OutboxStreamEvent, RelayHandler, RelayRun } from '../../functions/event-redelivery/handler';
import { createDynamoDbClient } from '../../src/platform/dynamodb/client';
import { OUTBOX_RELAY_FILTER } from '../../src/platform/dynamodb/table-schema';
import { lambdaContext } from './lambda-context';

export interface OutboxStreamOptions {
  endpoint: string;
  tableName: string;
  handler: RelayHandler;
  /** Records per invocation at most (the stack's mapping: RELAY_BATCH_SIZE). */
  batchSize?: number;
  /** How long the first record of a batch waits for more (the stack's: RELAY_BATCHING_WINDOW_MS). */
  windowMs?: number;
  /** Pause between reads of the stream when it had nothing (Lambda polls a shard four times a second). */
  pollMs?: number;
  onReport?: (report: RelayRun) => void;
  onError?: (error: unknown) => void;
}

export interface OutboxStream {
  /** Resolves once every record written before the call has been handed over and its invocation settled. */
  drain(): Promise<void>;
  readonly totals: { invocations: number; items: number; posts: number; visitors: number; delivered: number };
  stop(): Promise<void>;
}

/** Records per GetRecords call (the API's most). */
const PAGE = 1000;

type LambdaImage = NonNullable<OutboxStreamEvent['Records'][number]['dynamodb']>['NewImage'];

/** Lambda's filter semantics for the patterns used here: arrays list allowed values, objects nest. */
function matches(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) return pattern.includes(value);
  if (typeof pattern !== 'object' || pattern === null) return false;
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(pattern).every(([key, inner]) =>
    matches(inner, (value as Record<string, unknown>)[key]),
  );
}

/** A record as Lambda delivers it: attribute values in JSON, binary as base64. */
function lambdaRecord(record: StreamRecord): OutboxStreamEvent['Records'][number] {
  const image: LambdaImage = {};
  for (const [name, value] of Object.entries(record.dynamodb?.NewImage ?? {})) {
    if (value.B !== undefined) image[name] = { B: Buffer.from(value.B).toString('base64') };
    else if (value.S !== undefined) image[name] = { S: value.S };
    else if (value.N !== undefined) image[name] = { N: value.N };
    else if (value.BOOL !== undefined) image[name] = { BOOL: value.BOOL };
  }
  return { eventName: record.eventName ?? '', dynamodb: { NewImage: image } };
}

export async function startOutboxStream(options: OutboxStreamOptions): Promise<OutboxStream> {
  const batchSize = options.batchSize ?? 1000;
  const windowMs = options.windowMs ?? 1000;
  const pollMs = options.pollMs ?? 250;
  const table = createDynamoDbClient({ endpoint: options.endpoint });
  const described = await table.send(new DescribeTableCommand({ TableName: options.tableName }));
  table.destroy();
  const streamArn = described.Table?.LatestStreamArn;
  if (!streamArn)
    throw new Error(
      `table ${options.tableName} has no stream: create it with ensureTable (scripts/local/dynamodb-local.ts)`,
    );
  const streams = new DynamoDBStreamsClient({
    endpoint: options.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

  const iterators = new Map<string, string>();
  const finished = new Set<string>();
  /** Shards open at start are read from now on, as a new mapping at LATEST; later ones from their start. */
  async function discover(type: 'LATEST' | 'TRIM_HORIZON'): Promise<void> {
    const stream = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of stream.StreamDescription?.Shards ?? []) {
      const id = shard.ShardId;
      if (!id || iterators.has(id) || finished.has(id)) continue;
      if (type === 'LATEST' && shard.SequenceNumberRange?.EndingSequenceNumber) continue;
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: id, ShardIteratorType: type }),
      );
      if (ShardIterator) iterators.set(id, ShardIterator);
    }
  }
  await discover('LATEST');

  const totals = { invocations: 0, items: 0, posts: 0, visitors: 0, delivered: 0 };
  let pending: OutboxStreamEvent['Records'] = [];
  let firstPendingAt = 0;
  let cycle = 0;
  let stopped = false;
  let lastDiscovery = Date.now();
  let drainers: { after: number; resolve: () => void }[] = [];

  async function invoke(records: OutboxStreamEvent['Records']): Promise<void> {
    try {
      const report = await options.handler({ Records: records }, lambdaContext('event-redelivery', 50_000));
      totals.invocations++;
      totals.items += report.items;
      totals.posts += report.posts;
      totals.visitors += report.visitors;
      totals.delivered += report.delivered;
      options.onReport?.(report);
    } catch (error) {
      // Lambda would retry the batch; the items stay in the outbox for the redelivery function either way.
      options.onError?.(error);
    }
  }

  const readPage = (iterator: string) =>
    streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: PAGE }));

  /** Whether the last pass left records behind (a full page): a drain then waits for the next. */
  let more = false;
  async function readOnce(): Promise<number> {
    let read = 0;
    more = false;
    for (const [id, iterator] of [...iterators]) {
      let page: Awaited<ReturnType<typeof readPage>>;
      try {
        page = await readPage(iterator);
      } catch (error) {
        const name = (error as Error).name;
        if (name !== 'TrimmedDataAccessException' && name !== 'ExpiredIteratorException') throw error;
        // The iterator points at records the stream no longer holds (or it aged out): take a fresh one
        // from the shard's oldest record on the next pass. What was trimmed stays in the outbox for
        // the scheduled redelivery, as in Lambda when a stream record expires unread.
        iterators.delete(id);
        lastDiscovery = 0;
        more = true;
        continue;
      }
      if ((page.Records?.length ?? 0) >= PAGE) more = true;
      if (page.NextShardIterator) iterators.set(id, page.NextShardIterator);
      else {
        iterators.delete(id);
        finished.add(id);
      }
      for (const record of page.Records ?? []) {
        read++;
        const converted = lambdaRecord(record);
        if (!matches(OUTBOX_RELAY_FILTER, converted)) continue;
        if (pending.length === 0) firstPendingAt = Date.now();
        pending.push(converted);
      }
    }
    return read;
  }

  const loop = (async () => {
    while (!stopped) {
      const started = ++cycle;
      let read = 0;
      let failed = false;
      try {
        if (Date.now() - lastDiscovery > 1_000) {
          lastDiscovery = Date.now();
          await discover('TRIM_HORIZON');
        }
        read = await readOnce();
      } catch (error) {
        // A pass that did not read every shard proves nothing to a drain: the next one must.
        failed = true;
        options.onError?.(error);
      }
      const hurry = drainers.length > 0;
      while (
        pending.length > 0 &&
        (pending.length >= batchSize || hurry || Date.now() - firstPendingAt >= windowMs)
      ) {
        const batch = pending.slice(0, batchSize);
        pending = pending.slice(batchSize);
        firstPendingAt = Date.now();
        await invoke(batch);
      }
      if (pending.length === 0 && !failed && !more) {
        const done = drainers.filter((d) => d.after < started);
        drainers = drainers.filter((d) => d.after >= started);
        for (const d of done) d.resolve();
      }
      if (read === 0 && !stopped) await new Promise((r) => setTimeout(r, drainers.length > 0 ? 5 : pollMs));
    }
  })();

  return {
    totals,
    drain: () =>
      stopped
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            drainers.push({ after: cycle, resolve });
          }),
    stop: async () => {
      stopped = true;
      await loop;
      if (pending.length > 0) await invoke(pending);
      pending = [];
      for (const d of drainers) d.resolve();
      drainers = [];
      streams.destroy();
    },
  };
}
