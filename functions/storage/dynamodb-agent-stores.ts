/**
 * Agent state on DynamoDB, and the only code that builds these keys:
 *
 *   OVERRIDE#<sdkKey>          / ["<userId>","<experimentKey>"]   variationKey (TTL)
 *   UPS#<sdkKey>#<userId>      / UPS                        experiment bucket map, JSON (TTL)
 *
 * Overrides of a project share a partition, so a container reads them all in one Query and caches
 * them briefly (decisions/agent-state.ts): a decide pays no request for them in steady state.
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { dict } from '../core/dict';
import type { ExperimentBucketMap, OverrideStore, UserProfileStore } from './agent-stores';
import { sendCommand } from './dynamodb-client';
import {
  KEY_PREFIX,
  TABLE_PARTITION_KEY as PK,
  TABLE_SORT_KEY as SK,
  TABLE_TTL_ATTRIBUTE as TTL,
} from './table-schema';

type Item = Record<string, AttributeValue>;
const DAY = 86_400;

export interface AgentStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** How long an override or a user profile lives after its last write. */
  ttlDays: number;
  now?: () => number;
}

abstract class AgentItems {
  protected readonly client: DynamoDBClient;
  protected readonly tableName: string;
  private readonly ttlDays: number;
  protected readonly now: () => number;

  constructor(options: AgentStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.ttlDays = options.ttlDays;
    this.now = options.now ?? Date.now;
  }

  protected expiresAt(): AttributeValue {
    return { N: String(Math.floor(this.now() / 1000) + this.ttlDays * DAY) };
  }

  protected live(item: Item | undefined): item is Item {
    return item !== undefined && !(item[TTL]?.N && Number(item[TTL].N) * 1000 <= this.now());
  }

  protected send<T>(command: { input: unknown }): Promise<T> {
    return sendCommand<T>(this.client, command);
  }
}

export class DynamoDbOverrideStore extends AgentItems implements OverrideStore {
  private key(sdkKey: string, userId: string, experimentKey: string): Item {
    // JSON, so no user id or experiment key can be mistaken for another pair (both may hold `#`).
    return {
      [PK]: { S: `${KEY_PREFIX.override}${sdkKey}` },
      [SK]: { S: JSON.stringify([userId, experimentKey]) },
    };
  }

  async list(sdkKey: string): Promise<Map<string, Map<string, string>>> {
    const out = new Map<string, Map<string, string>>();
    let start: Item | undefined;
    do {
      const page = await this.send<{ Items?: Item[]; LastEvaluatedKey?: Item }>(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': PK },
          ExpressionAttributeValues: { ':pk': { S: `${KEY_PREFIX.override}${sdkKey}` } },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        if (!this.live(item)) continue;
        const userId = item.userId?.S ?? '';
        const byExperiment = out.get(userId) ?? new Map<string, string>();
        byExperiment.set(item.experimentKey?.S ?? '', item.variationKey?.S ?? '');
        out.set(userId, byExperiment);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async get(sdkKey: string, userId: string, experimentKey: string): Promise<string | null> {
    const { Item } = await this.send<{ Item?: Item }>(
      new GetItemCommand({
        TableName: this.tableName,
        Key: this.key(sdkKey, userId, experimentKey),
        ConsistentRead: true,
      }),
    );
    return this.live(Item) ? (Item.variationKey?.S ?? null) : null;
  }

  async put(sdkKey: string, userId: string, experimentKey: string, variationKey: string): Promise<void> {
    await this.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...this.key(sdkKey, userId, experimentKey),
          userId: { S: userId },
          experimentKey: { S: experimentKey },
          variationKey: { S: variationKey },
          [TTL]: this.expiresAt(),
        },
      }),
    );
  }

  async remove(sdkKey: string, userId: string, experimentKey: string): Promise<void> {
    await this.send(
      new DeleteItemCommand({ TableName: this.tableName, Key: this.key(sdkKey, userId, experimentKey) }),
    );
  }
}

export class DynamoDbUserProfileStore extends AgentItems implements UserProfileStore {
  private key(sdkKey: string, userId: string): Item {
    return { [PK]: { S: `${KEY_PREFIX.userProfile}${sdkKey}#${userId}` }, [SK]: { S: 'UPS' } };
  }

  async get(sdkKey: string, userId: string): Promise<ExperimentBucketMap | null> {
    const { Item } = await this.send<{ Item?: Item }>(
      new GetItemCommand({ TableName: this.tableName, Key: this.key(sdkKey, userId) }),
    );
    if (!this.live(Item)) return null;
    return dict(Object.entries(JSON.parse(Item.buckets?.S ?? '{}') as ExperimentBucketMap));
  }

  async put(sdkKey: string, userId: string, buckets: ExperimentBucketMap): Promise<void> {
    await this.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...this.key(sdkKey, userId),
          buckets: { S: JSON.stringify(buckets) },
          [TTL]: this.expiresAt(),
        },
      }),
    );
  }
}
