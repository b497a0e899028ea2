/**
 * The backfill (src/segment/backfill.ts) on a fresh table: the bench's people as Segment's S3
 * archive holds them (the seeding events, then two days of mixed traffic), as gzipped NDJSON files,
 * against a floor of raw `BatchWriteItem` throughput of as many items on the same DynamoDB Local
 * (the ingest section's floor), measured right before each of the three runs.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { backfillDependencies } from '../functions/segment-backfill/dependencies';
import { ensureTable } from '../scripts/local/dynamodb-local';
import type { Config } from '../src/platform/config/env';
import { countDynamoDbRequests } from '../src/platform/dynamodb/client';
import { runBackfill } from '../src/segment/backfill';
import type { BackfillFile } from '../src/segment/backfill-sources';
import { type BenchPerson, graphEvents, mixedBatch } from './fixtures/segment-events';
import { rawBatchWrite } from './ingest';
import type { Report } from './lib/report';
import { median } from './lib/stats';

/** Files of the archive (Segment writes one per batch, under day folders). */
const FILES = 8;

function archive(people: readonly BenchPerson[]): { files: Buffer[]; events: number } {
  const events = [
    ...graphEvents(people),
    ...mixedBatch(people, people.length, 'archive-day-1', Date.UTC(2026, 10, 1)),
    ...mixedBatch(people, people.length, 'archive-day-2', Date.UTC(2026, 10, 2)),
  ];
  const per = Math.ceil(events.length / FILES);
  const files: Buffer[] = [];
  for (let i = 0; i < events.length; i += per) {
    files.push(
      gzipSync(
        events
          .slice(i, i + per)
          .map((e) => JSON.stringify(e))
          .join('\n'),
      ),
    );
  }
  return { files, events: events.length };
}

export async function benchBackfill(options: {
  config: Config;
  client: DynamoDBClient;
  people: readonly BenchPerson[];
  report: Report;
}): Promise<void> {
  const { files, events } = archive(options.people);
  const rates: number[] = [];
  const floors: number[] = [];
  const requestsPerEvent: number[] = [];
  await rawBatchWrite(options.client, options.config.TABLE_NAME, 1_000, 'backfill-warmup');
  for (let r = 0; r < 3; r++) {
    // The floor right before each run, so both see the same machine.
    const floorStarted = performance.now();
    await rawBatchWrite(options.client, options.config.TABLE_NAME, 1_000, `backfill-r${r}`);
    floors.push(1_000 / ((performance.now() - floorStarted) / 1000));
    const tableName = `crosswalk-bench-backfill-${r}`;
    // No stream: nothing relays here, and DynamoDB Local slows its large transactions on a streamed table.
    await ensureTable(options.client, tableName, { stream: false });
    try {
      const deps = backfillDependencies(
        { ...options.config, TABLE_NAME: tableName },
        { dynamoDb: options.client },
      );
      const sources: BackfillFile[] = files.map((body, i) => ({
        name: `segment-logs/bench/${1793491200000 + i}/${i}.gz`,
        size: body.length,
        open: async () => Readable.from([body]),
      }));
      const started = performance.now();
      const { result: summary, requests } = await countDynamoDbRequests(() =>
        runBackfill(deps, { source: `bench-${r}`, files: sources }),
      );
      const seconds = (performance.now() - started) / 1000;
      if (summary.totals.accepted !== events || summary.totals.rejected !== 0) {
        throw new Error(
          `backfill accepted ${summary.totals.accepted} of ${events} (${summary.totals.rejected} rejected)`,
        );
      }
      rates.push(events / seconds);
      requestsPerEvent.push(requests / events);
    } finally {
      await options.client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    }
  }
  options.report.add('backfill_events_per_s', {
    value: median(rates),
    unit: 'events/s',
    floor: median(floors),
    target: `ratio ≥ 0.25 of raw BatchWriteItem (${events} archived events, ${FILES} gzipped files, fresh table)`,
    check: (f) => (f.ratio ?? 0) >= 0.25,
  });
  options.report.add('backfill_dynamodb_requests_per_event', {
    value: median(requestsPerEvent),
    unit: 'requests',
    target: 'reported (checkpoints included)',
  });
}
