/**
 * Segment webhook ingestion: seeding the identity graph through the handler, and a realistic
 * 1,000-event batch against a floor of raw `BatchWriteItem` throughput of the same number of items
 * on the same DynamoDB Local.
 */
import { BatchWriteItemCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { countDynamoDbRequests } from '../src/platform/dynamodb/client';
import { type BenchPerson, graphEvents, mixedBatch, type SegmentEvent } from './fixtures/segment-events';
import { type HttpHandler, invoke, prepareCall } from './lib/harness';
import type { Report } from './lib/report';
import { median } from './lib/stats';

const BATCH = 1_000;

interface IngestSummary {
  accepted: number;
  duplicates: number;
  rejected: unknown[];
}

async function postBatch(handler: HttpHandler, events: readonly SegmentEvent[], token: string) {
  const call = prepareCall({
    functionName: 'segment-webhook',
    routeKey: 'POST /webhooks/segment',
    url: '/webhooks/segment',
    headers: { 'x-crosswalk-token': token },
    body: JSON.stringify(events),
  });
  const result = await invoke(handler, call);
  const summary = JSON.parse(result.body as string) as IngestSummary;
  if (summary.rejected.length > 0) {
    throw new Error(`the webhook rejected bench events: ${JSON.stringify(summary.rejected.slice(0, 3))}`);
  }
  return summary;
}

/** Seeds the graph through the webhook handler in 1,000-event batches; returns events per second. */
export async function seedGraph(
  handler: HttpHandler,
  people: readonly BenchPerson[],
  token: string,
): Promise<{ events: number; seconds: number }> {
  const events = graphEvents(people);
  const started = performance.now();
  for (let i = 0; i < events.length; i += BATCH) {
    // A busy machine can time DynamoDB Local out (a 503); the webhook is idempotent, so send again.
    for (let attempt = 1; ; attempt++) {
      try {
        await postBatch(handler, events.slice(i, i + BATCH), token);
        break;
      } catch (error) {
        if (attempt === 3 || !String(error).includes('answered 503')) throw error;
      }
    }
  }
  return { events: events.length, seconds: (performance.now() - started) / 1000 };
}

/** Raw BatchWriteItem of `count` items of about the size of an identifier item, unprocessed retried. */
export async function rawBatchWrite(client: DynamoDBClient, tableName: string, count: number, run: string) {
  const filler = 'x'.repeat(600);
  const requests: WriteRequest[] = [];
  for (let i = 0; i < count; i++) {
    requests.push({
      PutRequest: {
        Item: {
          pk: { S: `BENCHFLOOR#${run}#${i}` },
          sk: { S: 'ITEM' },
          snapshot: { S: filler },
          expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) },
        },
      },
    });
  }
  const chunks: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += 25) chunks.push(requests.slice(i, i + 25));
  // The same bounded parallelism the store uses for its batched work.
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < chunks.length) {
        let pending = chunks[next++] as WriteRequest[];
        while (pending.length > 0) {
          const out = await client.send(
            new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
          );
          pending = out.UnprocessedItems?.[tableName] ?? [];
        }
      }
    }),
  );
}

export async function benchIngest(options: {
  handler: HttpHandler;
  people: readonly BenchPerson[];
  token: string;
  client: DynamoDBClient;
  tableName: string;
  report: Report;
}): Promise<void> {
  const { handler, people, token, report } = options;
  await postBatch(handler, mixedBatch(people, BATCH, 'warmup'), token);
  const rates: number[] = [];
  const perEvent: number[] = [];
  for (let r = 0; r < 5; r++) {
    const batch = mixedBatch(people, BATCH, `batch-${r}`, Date.UTC(2026, 10, 2 + r));
    const started = performance.now();
    const { result: summary, requests } = await countDynamoDbRequests(() => postBatch(handler, batch, token));
    const seconds = (performance.now() - started) / 1000;
    if (summary.accepted !== BATCH) throw new Error(`accepted ${summary.accepted} of ${BATCH}`);
    rates.push(BATCH / seconds);
    perEvent.push(requests / BATCH);
  }
  const floors: number[] = [];
  await rawBatchWrite(options.client, options.tableName, BATCH, 'warmup');
  for (let r = 0; r < 5; r++) {
    const started = performance.now();
    await rawBatchWrite(options.client, options.tableName, BATCH, `r${r}`);
    floors.push(BATCH / ((performance.now() - started) / 1000));
  }
  report.add('ingest_events_per_s', {
    value: median(rates),
    unit: 'events/s',
    floor: median(floors),
    target: 'reported (ratio = share of raw BatchWriteItem throughput)',
  });
  report.add('ingest_dynamodb_requests_per_event', {
    value: median(perEvent),
    unit: 'requests',
    target: '≤ 1.5',
    check: (x) => x.value <= 1.5,
  });
}
