import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type LocalServer, matchRoute, startLocalServer } from '../../scripts/local/server';
import { createTestTable, type TestTable } from '../support/dynamodb';

describe('local server', () => {
  let server: LocalServer;
  let table: TestTable;

  beforeAll(async () => {
    table = await createTestTable('server');
    process.env.TABLE_NAME = table.tableName;
    server = await startLocalServer(0);
  });

  afterAll(async () => {
    await server.close();
    await table.drop();
  });

  it('serves GET /health through the Lambda handler', async () => {
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });

  it('answers unknown routes with 404 as API Gateway does', async () => {
    const response = await fetch(`${server.url}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'Not Found' });
  });

  it('matches path parameters from the route table', () => {
    expect(matchRoute('GET', '/health')?.route.function).toBe('health');
    expect(matchRoute('POST', '/health')).toBeUndefined();
  });
});
