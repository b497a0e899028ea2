/**
 * Agent state on DynamoDB, and the only code that builds these keys:
 *
 *   OVERRIDE#<sdkKey>          / ["<userId>","<experimentKey>"]   variationKey (TTL)
 *   UPS#<sdkKey>#<userId>      / UPS                        experiment bucket map, JSON (TTL)
 *   OVERRIDE#                  / <sdkKey>                   registry: projects with overrides
 *   UPS#                       / <sdkKey>                   registry: projects with saved profiles
 *
 * The registries (partitions no real key can name: an SDK key is never empty) list the projects a
 * Segment delete's erasure must look through when the deployment serves any SDK key
 * (OPTIMIZELY_SDK_KEYS=*): written along with a project's first override or profile of a container.
 *
 * Overrides of a project share a partition, so a container reads them all in one Query and caches
 * them briefly (agent/agent-state.ts): a decide pays no request for them in steady state.
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { dict } from '../../platform/core/dict';
import { sendCommand } from '../../platform/dynamodb/client';
import { queryPartition } from '../../platform/dynamodb/query';
import {
  type TableItem as Item,
  KEY_PREFIX,
  TABLE_PARTITION_KEY as PK,
  TABLE_SORT_KEY as SK,
  TABLE_TTL_ATTRIBUTE as TTL,
} from '../../platform/dynamodb/table-schema';
import type { ExperimentBucketMap, OverrideStore, UserProfileStore } from '../stores';

const DAY = 86_400;

type WriteCondition = Pick<
  PutItemCommandInput,
  'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
>;

export interface AgentStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** How long an override or a user profile lives after its last write. */
  ttlDays: number;
  now?: () => number;
}

const REGISTRY_TTL_DAYS = 400;

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

  private readonly registered = new Set<string>();

  /**
   * Records `sdkKey` in this family's registry, once per container (`write` runs alongside, so the
   * first write of a project costs no extra round trip in time, and later ones nothing at all).
   */
  protected async withRegistry(prefix: string, sdkKey: string, write: Promise<unknown>): Promise<void> {
    if (this.registered.has(sdkKey)) {
      await write;
      return;
    }
    const register = sendCommand(
      this.client,
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          [PK]: { S: prefix },
          [SK]: { S: sdkKey },
          [TTL]: { N: String(Math.floor(this.now() / 1000) + REGISTRY_TTL_DAYS * DAY) },
        },
      }),
    );
    await Promise.all([write, register]);
    this.registered.add(sdkKey);
  }

  /** Puts `item` of the `prefix` family (under `condition`, if any), registering its project alongside. */
  protected async putItem(
    prefix: string,
    sdkKey: string,
    item: Item,
    condition?: Pick<
      PutItemCommandInput,
      'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
  ): Promise<void> {
    const write = sendCommand(
      this.client,
      new PutItemCommand({ TableName: this.tableName, Item: item, ...condition }),
    );
    await this.withRegistry(prefix, sdkKey, write);
  }

  protected async registry(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const item of queryPartition(this.client, this.tableName, prefix)) {
      if (item[SK]?.S) keys.push(item[SK].S);
    }
    return keys;
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
    const partition = `${KEY_PREFIX.override}${sdkKey}`;
    for await (const item of queryPartition(this.client, this.tableName, partition)) {
      if (!this.live(item)) continue;
      const userId = item.userId?.S ?? '';
      const byExperiment = out.get(userId) ?? new Map<string, string>();
      byExperiment.set(item.experimentKey?.S ?? '', item.variationKey?.S ?? '');
      out.set(userId, byExperiment);
    }
    return out;
  }

  async get(sdkKey: string, userId: string, experimentKey: string): Promise<string | null> {
    const { Item } = await sendCommand(
      this.client,
      new GetItemCommand({
        TableName: this.tableName,
        Key: this.key(sdkKey, userId, experimentKey),
        ConsistentRead: true,
      }),
    );
    return this.live(Item) ? (Item.variationKey?.S ?? null) : null;
  }

  async put(sdkKey: string, userId: string, experimentKey: string, variationKey: string): Promise<void> {
    await this.putItem(KEY_PREFIX.override, sdkKey, {
      ...this.key(sdkKey, userId, experimentKey),
      userId: { S: userId },
      experimentKey: { S: experimentKey },
      variationKey: { S: variationKey },
      [TTL]: this.expiresAt(),
    });
  }

  projects(): Promise<string[]> {
    return this.registry(KEY_PREFIX.override);
  }

  async remove(sdkKey: string, userId: string, experimentKey: string): Promise<void> {
    await sendCommand(
      this.client,
      new DeleteItemCommand({ TableName: this.tableName, Key: this.key(sdkKey, userId, experimentKey) }),
    );
  }
}

export class DynamoDbUserProfileStore extends AgentItems implements UserProfileStore {
  private key(sdkKey: string, userId: string): Item {
    return { [PK]: { S: `${KEY_PREFIX.userProfile}${sdkKey}#${userId}` }, [SK]: { S: 'UPS' } };
  }

  private item(sdkKey: string, userId: string, buckets: ExperimentBucketMap): Item {
    return { ...this.key(sdkKey, userId), buckets: { S: JSON.stringify(buckets) }, [TTL]: this.expiresAt() };
  }

  async get(sdkKey: string, userId: string): Promise<ExperimentBucketMap | null> {
    const { Item } = await sendCommand(
      this.client,
      new GetItemCommand({ TableName: this.tableName, Key: this.key(sdkKey, userId) }),
    );
    if (!this.live(Item)) return null;
    return dict(Object.entries(JSON.parse(Item.buckets?.S ?? '{}') as ExperimentBucketMap));
  }

  async put(sdkKey: string, userId: string, buckets: ExperimentBucketMap): Promise<void> {
    await this.putItem(KEY_PREFIX.userProfile, sdkKey, this.item(sdkKey, userId, buckets));
  }

  /**
   * One conditional write in the common case: the item must still hold `base` (or not exist when
   * `base` is null). When another container changed it meanwhile, the profile is read again and the
   * entries are added to what it holds (a race in that second step keeps today's last-writer-wins).
   */
  async addEntries(
    sdkKey: string,
    userId: string,
    base: ExperimentBucketMap | null,
    entries: ExperimentBucketMap,
  ): Promise<ExperimentBucketMap> {
    const merged = { ...base, ...entries };
    const condition: WriteCondition =
      base === null
        ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PK } }
        : {
            ConditionExpression: '#b = :base',
            ExpressionAttributeNames: { '#b': 'buckets' },
            ExpressionAttributeValues: { ':base': { S: JSON.stringify(base) } },
          };
    try {
      await this.putItem(KEY_PREFIX.userProfile, sdkKey, this.item(sdkKey, userId, merged), condition);
      return merged;
    } catch (error) {
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    }
    const fresh = { ...(await this.get(sdkKey, userId)), ...entries };
    await this.put(sdkKey, userId, fresh);
    return fresh;
  }

  async remove(sdkKey: string, userId: string): Promise<boolean> {
    const { Attributes } = await sendCommand(
      this.client,
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: this.key(sdkKey, userId),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes !== undefined;
  }

  projects(): Promise<string[]> {
    return this.registry(KEY_PREFIX.userProfile);
  }
}
