/**
 * Stored Optimizely datafiles on DynamoDB (the port: optimizely/datafile-store.ts), and the only
 * code that builds their keys:
 *
 *   DATAFILE#<sdkKey> / DATAFILE   gzipped datafile, revision (number), etag, fetchedAt
 *
 * The pk prefix is shared with the stack, which scopes the decide function's writes to it. Datafiles
 * are gzipped because DynamoDB items stop at 400 KB and big projects' datafiles come near that.
 * Writes only move forward: a put carrying an older revision than the stored one is a no-op, so a
 * webhook and a revalidating container racing each other cannot roll the project back.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DependencyUnavailableError, isTransient } from '../../platform/core/errors';
import {
  KEY_PREFIX,
  TABLE_PARTITION_KEY as PK,
  TABLE_SORT_KEY as SK,
  TABLE_TTL_ATTRIBUTE as TTL,
} from '../../platform/dynamodb/table-schema';
import type { DatafileStore, StoredDatafile } from '../datafile-store';

const DATAFILE_SK = 'DATAFILE';
/** Leaves headroom under DynamoDB's 400 KB item limit for the other attributes. */
const MAX_STORED_BYTES = 380 * 1024;
/**
 * A stored datafile expires this long after it was fetched: projects a deployment stops using do
 * not stay forever, and a project in use is fetched again (and stored again) when it expires.
 */
const STORED_DATAFILE_DAYS = 30;

export function datafileItemKey(sdkKey: string): { pk: string; sk: string } {
  return { pk: `${KEY_PREFIX.datafile}${sdkKey}`, sk: DATAFILE_SK };
}

export class DynamoDbDatafileStore implements DatafileStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async get(sdkKey: string): Promise<StoredDatafile | null> {
    const key = datafileItemKey(sdkKey);
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [PK]: { S: key.pk }, [SK]: { S: key.sk } },
        }),
      );
      if (!Item?.datafile?.B || !Item.revision?.N) return null;
      // DynamoDB deletes expired items lazily: one past its expiry is gone.
      if (Item[TTL]?.N && Number(Item[TTL].N) * 1000 <= Date.now()) return null;
      const stored: StoredDatafile = {
        sdkKey,
        datafile: gunzipSync(Item.datafile.B).toString('utf8'),
        revision: Number(Item.revision.N),
        fetchedAt: Number(Item.fetchedAt?.N ?? 0),
      };
      if (Item.etag?.S) stored.etag = Item.etag.S;
      return stored;
    } catch (error) {
      if (isTransient(error))
        throw new DependencyUnavailableError('Could not read the stored datafile', { cause: error });
      throw error;
    }
  }

  async put(datafile: StoredDatafile): Promise<boolean> {
    const key = datafileItemKey(datafile.sdkKey);
    const body = gzipSync(datafile.datafile);
    if (body.length > MAX_STORED_BYTES) return false;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [PK]: { S: key.pk },
            [SK]: { S: key.sk },
            datafile: { B: body },
            revision: { N: String(datafile.revision) },
            fetchedAt: { N: String(datafile.fetchedAt) },
            [TTL]: { N: String(Math.floor(datafile.fetchedAt / 1000) + STORED_DATAFILE_DAYS * 86_400) },
            ...(datafile.etag ? { etag: { S: datafile.etag } } : {}),
          },
          ConditionExpression: 'attribute_not_exists(#pk) OR #revision < :revision',
          ExpressionAttributeNames: { '#pk': PK, '#revision': 'revision' },
          ExpressionAttributeValues: { ':revision': { N: String(datafile.revision) } },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      if (isTransient(error))
        throw new DependencyUnavailableError('Could not store the datafile', { cause: error });
      throw error;
    }
  }
}
