import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type LocalServer, matchRoute, startLocalServer } from '../../scripts/local/server';
import { buildHandlers, testConfig } from '../support/app';
import { createTestTable, type TestTable } from '../support/dynamodb';

describe('local server', () => {
  let server: LocalServer | undefined;
  let table: TestTable | undefined;

  beforeAll(async () => {
    table = await createTestTable('server');
    server = await startLocalServer({
      port: 0,
      handlers: buildHandlers(testConfig({ TABLE_NAME: table.tableName })),
    });
  });

  afterAll(async () => {
    await server?.close();
    await table?.drop();
  });

  it('serves GET /health through the Lambda handler', async () => {
    const response = await fetch(`${server!.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });

  it('answers unknown routes with 404 as API Gateway does', async () => {
    const response = await fetch(`${server!.url}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'Not Found' });
  });

  it('matches routes of the route table and decodes path parameters once', () => {
    expect(matchRoute('GET', '/health')?.route.function).toBe('health');
    expect(matchRoute('POST', '/health')).toBeUndefined();
    expect(matchRoute('GET', '/v1/identities/email/a%40b.example')).toMatchObject({
      route: { function: 'identity-lookup', operation: 'describe' },
      pathParameters: { type: 'email', value: 'a@b.example' },
    });
    // %2541 is "%41" once decoded; decoding it a second time would wrongly give "A".
    expect(matchRoute('GET', '/v1/identities/user_id/%2541')?.pathParameters).toEqual({
      type: 'user_id',
      value: '%41',
    });
  });
});
