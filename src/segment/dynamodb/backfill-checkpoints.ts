/**
 * Where a backfill run stands, in the identity table: `BACKFILL#<runId>` / `CHECKPOINT`, written after
 * every batch it has ingested, so a run interrupted (Ctrl-C, a Lambda deadline, a crash) resumes from
 * the line after. Kept CHECKPOINT_DAYS, then removed by TTL.
 */
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { sendCommand } from '../../platform/dynamodb/client';
import {
  KEY_PREFIX,
  TABLE_PARTITION_KEY as PK,
  TABLE_SORT_KEY as SK,
  TABLE_TTL_ATTRIBUTE as TTL,
} from '../../platform/dynamodb/table-schema';
import type { BackfillCheckpoint, BackfillCheckpoints } from '../backfill-checkpoints';

const CHECKPOINT_DAYS = 30;

export class DynamoDbBackfillCheckpoints implements BackfillCheckpoints {
  constructor(private readonly options: { client: DynamoDBClient; tableName: string }) {}

  private key(runId: string) {
    return { [PK]: { S: `${KEY_PREFIX.backfill}${runId}` }, [SK]: { S: 'CHECKPOINT' } };
  }

  async get(runId: string): Promise<BackfillCheckpoint | null> {
    const output = await sendCommand<{ Item?: Record<string, { S?: string }> }>(
      this.options.client,
      new GetItemCommand({ TableName: this.options.tableName, Key: this.key(runId), ConsistentRead: true }),
    );
    const state = output.Item?.state?.S;
    return state ? (JSON.parse(state) as BackfillCheckpoint) : null;
  }

  async put(checkpoint: BackfillCheckpoint): Promise<void> {
    await sendCommand(
      this.options.client,
      new PutItemCommand({
        TableName: this.options.tableName,
        Item: {
          ...this.key(checkpoint.runId),
          state: { S: JSON.stringify(checkpoint) },
          [TTL]: { N: String(Math.floor(checkpoint.updatedAt / 1000) + CHECKPOINT_DAYS * 86_400) },
        },
      }),
    );
  }
}
