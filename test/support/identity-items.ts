/**
 * Test-only reads of the identity table that no request path makes: every profile item, by Scan.
 * The store (src/identity/dynamodb/identity-store.ts) offers no Scan; tests that compare whole
 * graphs read the items here.
 */
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { PROFILE_FORMAT } from '../../src/identity/dynamodb/identity-store';
import type { ProfileState } from '../../src/identity/profile';
import type { StoredProfile } from '../../src/identity/store';
import {
  KEY_PREFIX,
  TABLE_PARTITION_KEY as PK,
  TABLE_TTL_ATTRIBUTE as TTL,
} from '../../src/platform/dynamodb/table-schema';

type Item = Record<string, AttributeValue>;

/** Every profile in the table, expired ones included (`expired` against `now`, epoch ms). */
export async function listProfiles(
  table: { client: DynamoDBClient; tableName: string },
  now: () => number = Date.now,
): Promise<StoredProfile[]> {
  const out: StoredProfile[] = [];
  let start: Item | undefined;
  do {
    const page = await table.client.send(
      new ScanCommand({
        TableName: table.tableName,
        FilterExpression: 'begins_with(#pk, :prefix)',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: { ':prefix': { S: KEY_PREFIX.profile } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const id = (item[PK]?.S ?? '').slice(KEY_PREFIX.profile.length);
      const expiresAt = Number(item[TTL]?.N ?? '0');
      out.push({
        state: { id, ...(JSON.parse(item.state?.S ?? '{}') as Omit<ProfileState, 'id'>) },
        version: Number(item.version?.N ?? '0'),
        expiresAt,
        expired: item[TTL]?.N !== undefined && expiresAt <= Math.floor(now() / 1000),
        legacy: item.format?.N !== PROFILE_FORMAT,
      });
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}
