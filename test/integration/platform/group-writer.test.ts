import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { withDeadline } from '../../../src/platform/core/deadline';
import { createDynamoDbClient } from '../../../src/platform/dynamodb/client';
import { GroupWriter } from '../../../src/platform/dynamodb/group-writer';
import { createTestTable, type TestTable } from '../../support/dynamodb';

/** A client that records the name of every command it sends. */
function recordingClient(): { client: DynamoDBClient; sent: string[] } {
  const client = createDynamoDbClient({ endpoint: process.env.DYNAMODB_ENDPOINT });
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return { client, sent };
}

const key = (i: number) => ({ pk: { S: `GW#${i}` }, sk: { S: 'X' } });

describe('GroupWriter (DynamoDB Local)', () => {
  let table: TestTable;
  beforeAll(async () => {
    table = await createTestTable('group-writer', { stream: false });
  });
  afterAll(async () => {
    await table.drop();
  });

  const exists = async (i: number) =>
    (await table.client.send(new GetItemCommand({ TableName: table.tableName, Key: key(i) }))).Item !==
    undefined;

  it('sends a write that finds nothing in flight at once, as its own PutItem', async () => {
    const { client, sent } = recordingClient();
    const writer = new GroupWriter(client, table.tableName);
    await writer.write([{ PutRequest: { Item: { ...key(0), v: { N: '1' } } } }]);
    expect(sent).toEqual(['PutItemCommand']);
    expect(await exists(0)).toBe(true);
    client.destroy();
  });

  it('groups the writes that arrive while one is in flight: every item lands, in far fewer requests', async () => {
    const { client, sent } = recordingClient();
    const writer = new GroupWriter(client, table.tableName);
    const ids = Array.from({ length: 120 }, (_, i) => 100 + i);
    await Promise.all(
      ids.map((i) => writer.write([{ PutRequest: { Item: { ...key(i), v: { N: String(i) } } } }])),
    );
    for (const i of ids) expect(await exists(i)).toBe(true);
    expect(sent[0]).toBe('PutItemCommand');
    expect(sent.filter((name) => name === 'BatchWriteItemCommand').length).toBeGreaterThan(0);
    // 1 single write, then the 119 that waited for it in batches of 25 (unprocessed retries aside).
    expect(sent.length).toBeLessThanOrEqual(1 + Math.ceil(119 / 25) * 4);

    await Promise.all(ids.map((i) => writer.write([{ DeleteRequest: { Key: key(i) } }])));
    for (const i of ids) expect(await exists(i)).toBe(false);
    client.destroy();
  });

  it('rejects every grouped caller when the group cannot be written (nothing resolves silently)', async () => {
    const { client } = recordingClient();
    const writer = new GroupWriter(client, 'no-such-table');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => writer.write([{ PutRequest: { Item: { ...key(500 + i) } } }])),
    );
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    // and the writer is usable afterwards
    const good = new GroupWriter(client, table.tableName);
    await good.write([{ PutRequest: { Item: { ...key(600) } } }]);
    expect(await exists(600)).toBe(true);
    client.destroy();
  });

  it("ends a waiting write by its caller's deadline", async () => {
    const { client } = recordingClient();
    const writer = new GroupWriter(client, table.tableName);
    const first = writer.write([{ PutRequest: { Item: { ...key(700) } } }]);
    const waiting = withDeadline(Date.now() - 1, () =>
      writer.write([{ PutRequest: { Item: { ...key(701) } } }]),
    );
    await expect(waiting).rejects.toThrow(/deadline/);
    await first;
    client.destroy();
  });
});
