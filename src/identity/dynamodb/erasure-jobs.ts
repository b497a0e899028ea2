/**
 * Erasure jobs on the identity table, and the only code that builds their keys:
 *
 *   ERASE# / <requestedAt, 15-digit epoch ms>#<messageId>   identifiers (JSON), requestedAt, expiresAt (TTL)
 *
 * A Segment delete writes its job in the same transaction as its tombstones (the identity store
 * calls `erasureJobItem`); the redelivery function's run lists the jobs (one Query: deletes are
 * rare), erases what was derived from their identifiers and deletes each job once done. The TTL
 * is the tombstones' (the job holds the same identifiers): it only bounds a job that never succeeds.
 */
import { DeleteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { sendCommand } from '../../platform/dynamodb/client';
import { queryPartition } from '../../platform/dynamodb/query';
import {
  KEY_PREFIX,
  TABLE_PARTITION_KEY as PK,
  TABLE_SORT_KEY as SK,
  type TableItem,
  TABLE_TTL_ATTRIBUTE as TTL,
} from '../../platform/dynamodb/table-schema';
import type { ErasureJob, ErasureJobs } from '../erasure-jobs';
import type { Identifier } from '../identifiers';

export function erasureJobItem(job: {
  messageId: string;
  identifiers: readonly Identifier[];
  requestedAt: number;
  expiresAt: number;
}): TableItem {
  const when = String(Math.max(0, Math.floor(job.requestedAt))).padStart(15, '0');
  return {
    [PK]: { S: KEY_PREFIX.erasure },
    [SK]: { S: `${when}#${job.messageId}` },
    messageId: { S: job.messageId },
    identifiers: { S: JSON.stringify(job.identifiers.map(({ type, value }) => ({ type, value }))) },
    requestedAt: { N: String(job.requestedAt) },
    [TTL]: { N: String(job.expiresAt) },
  };
}

export class DynamoDbErasureJobs implements ErasureJobs {
  constructor(private readonly options: { client: DynamoDBClient; tableName: string }) {}

  async pending(): Promise<ErasureJob[]> {
    const jobs: ErasureJob[] = [];
    for await (const item of queryPartition(
      this.options.client,
      this.options.tableName,
      KEY_PREFIX.erasure,
    )) {
      jobs.push({
        ref: { sk: item[SK]?.S ?? '' },
        messageId: item.messageId?.S ?? '',
        identifiers: JSON.parse(item.identifiers?.S ?? '[]') as Identifier[],
        requestedAt: Number(item.requestedAt?.N ?? 0),
      });
    }
    return jobs;
  }

  async done(job: ErasureJob): Promise<void> {
    await sendCommand(
      this.options.client,
      new DeleteItemCommand({
        TableName: this.options.tableName,
        Key: { [PK]: { S: KEY_PREFIX.erasure }, [SK]: { S: job.ref.sk } },
      }),
    );
  }
}
