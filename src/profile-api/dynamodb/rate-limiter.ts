/**
 * A rate limit that holds across every Lambda container: counters in DynamoDB, one item per time
 * slot, each taken with one conditional UpdateItem (ADD, refused past the slot's capacity).
 *
 * The guarantee is the one Segment's Profile API needs (100 requests/s per space, no documented
 * burst allowance): at most `maxPerSecond` permits in ANY one-second window, not only in each
 * calendar second. A second is cut into `slots` slots, each allowing `floor(max / (slots + 1))`;
 * any one-second window overlaps at most `slots + 1` of them, so it never sees more than `max`.
 * The price is a sustained rate of `slots / (slots + 1)` of the maximum (64/s of 80 with 4 slots),
 * and a burst of at most one slot's capacity at once.
 *
 * A container that saw a slot full stops asking until the next one, so a saturated limiter costs
 * DynamoDB about one refused update per container per slot, not one per caller. Slot items expire
 * (TTL) a minute after their slot. Any DynamoDB failure counts as a refusal: the limiter never
 * lets a call through that it could not count.
 */
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { sendCommand } from '../../platform/dynamodb/client';
import {
  KEY_PREFIX,
  TABLE_PARTITION_KEY as PK,
  TABLE_SORT_KEY as SK,
  TABLE_TTL_ATTRIBUTE as TTL,
} from '../../platform/dynamodb/table-schema';
import type { RateLimiter } from '../rate-limiter';

export interface SlotPlan {
  /** Slot length in ms. */
  slotMs: number;
  /** Permits per slot. */
  perSlot: number;
}

/**
 * Slots per second (at most 4) and permits per slot for a maximum per any one-second window:
 * `(1000 / slotMs + 1) × perSlot ≤ max`. A maximum below 2 cannot be held with fixed slots.
 */
export function slotPlan(maxPerSecond: number): SlotPlan {
  if (!(maxPerSecond >= 2)) throw new RangeError('a shared rate limit needs at least 2 per second');
  const slots = Math.min(4, Math.floor(maxPerSecond) - 1);
  return { slotMs: 1000 / slots, perSlot: Math.floor(maxPerSecond / (slots + 1)) };
}

const SLOT_SK = 'LIMIT';
/** How long a slot's counter item is kept after its slot (TTL; only for inspection). */
const KEEP_SECONDS = 60;

export class DynamoDbRateLimiter implements RateLimiter {
  private readonly plan: SlotPlan;
  private readonly now: () => number;
  /** The slot this container saw full: no request until the next one. */
  private fullSlot = -1;

  constructor(
    private readonly options: {
      client: DynamoDBClient;
      tableName: string;
      /** Which limit (several may share the table): `profile-api`. */
      name: string;
      maxPerSecond: number;
      now?: () => number;
    },
  ) {
    this.plan = slotPlan(options.maxPerSecond);
    this.now = options.now ?? Date.now;
  }

  get perSlot(): number {
    return this.plan.perSlot;
  }

  async acquire(permits: number): Promise<boolean> {
    if (permits <= 0) return true;
    const slot = Math.floor(this.now() / this.plan.slotMs);
    if (slot === this.fullSlot || permits > this.plan.perSlot) return false;
    const slotEnd = Math.ceil(((slot + 1) * this.plan.slotMs) / 1000);
    try {
      await sendCommand(
        this.options.client,
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: {
            [PK]: { S: `${KEY_PREFIX.rateLimit}${this.options.name}#${slot}` },
            [SK]: { S: SLOT_SK },
          },
          UpdateExpression: 'ADD #count :permits SET #ttl = :expires',
          ConditionExpression: 'attribute_not_exists(#count) OR #count <= :room',
          ExpressionAttributeNames: { '#count': 'count', '#ttl': TTL },
          ExpressionAttributeValues: {
            ':permits': { N: String(permits) },
            ':room': { N: String(this.plan.perSlot - permits) },
            ':expires': { N: String(slotEnd + KEEP_SECONDS) },
          },
        }),
      );
      return true;
    } catch (error) {
      // Refusing one permit means full; refusing several may leave room for one.
      if ((error as Error).name === 'ConditionalCheckFailedException' && permits === 1) this.fullSlot = slot;
      return false;
    }
  }
}
