import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { fixture } from '../support/segment';

describe('identity routes through the local server', () => {
  let server: TestApp | undefined;
  let table: TestTable | undefined;

  beforeAll(async () => {
    table = await createTestTable('routes');
    server = await startTestApp({ TABLE_NAME: table.tableName });
  });

  afterAll(async () => {
    await server?.close();
    await table?.drop();
  });

  it('ingests a Segment batch over HTTP and serves the profile by any identifier', async () => {
    const user = `route-${randomUUID().slice(0, 8)}`;
    const batch = ['identify', 'group'].map((type) => ({
      ...fixture(type),
      userId: user,
      messageId: `${user}-${type}`,
    }));
    const posted = await fetch(`${server!.url}/webhooks/segment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Segment (Actions)' },
      body: JSON.stringify(batch),
    });
    expect(posted.status).toBe(200);
    expect(await posted.json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });

    const byEmail = await fetch(
      `${server!.url}/v1/identities/email/${encodeURIComponent('Peter.Gibbons@example.com')}`,
    );
    expect(byEmail.status).toBe(200);
    expect(await byEmail.json()).toMatchObject({
      userId: user,
      accounts: [{ id: '0e8c78ea9d97a7b8185e8632', traits: { name: 'Initech' } }],
      primaryAccountId: '0e8c78ea9d97a7b8185e8632',
    });
    expect((await fetch(`${server!.url}/v1/identities/user_id/nobody-${user}`)).status).toBe(404);
  });
});
