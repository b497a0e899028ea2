/**
 * The shared middy stack: header names reach handlers lowercased (hand-written events for
 * `npm run invoke` or `sam local invoke` may capitalise them), so API-key and signature lookups only
 * ever read lowercase names.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Context } from 'aws-lambda';
import { resetEnvCache } from '../../functions/config/env';
import { resetSecretsCache } from '../../functions/config/secrets';
import type { HttpEvent } from '../../functions/http/api-gateway';
import { requireApiKey } from '../../functions/http/auth';
import { httpHandler } from '../../functions/http/http-handler';

const context = { awsRequestId: 'http-handler-test' } as Context;

function event(headers: Record<string, string>): HttpEvent {
  return { routeKey: 'GET /x', rawPath: '/x', headers } as unknown as HttpEvent;
}

const savedTableName = process.env.TABLE_NAME;

afterEach(() => {
  delete process.env.API_KEYS;
  if (savedTableName === undefined) delete process.env.TABLE_NAME;
  else process.env.TABLE_NAME = savedTableName;
  resetEnvCache();
  resetSecretsCache();
});

describe('httpHandler', () => {
  it('lowercases header names before the handler runs', async () => {
    let seen: Record<string, string | undefined> | undefined;
    const handler = httpHandler(async (e) => {
      seen = e.headers;
      return { statusCode: 204 };
    });
    await handler(event({ 'X-Api-Key': 'k', Authorization: 'Bearer t', 'x-plain': 'p' }), context);
    expect(seen).toEqual({ 'x-api-key': 'k', authorization: 'Bearer t', 'x-plain': 'p' });
  });

  it('accepts an API key sent under a capitalised header name', async () => {
    process.env.TABLE_NAME ??= 'unused';
    process.env.API_KEYS = 'secret-key';
    resetEnvCache();
    resetSecretsCache();
    const handler = httpHandler(async (e) => {
      await requireApiKey(e);
      return { statusCode: 204 };
    });
    expect((await handler(event({ 'X-Api-Key': 'secret-key' }), context)).statusCode).toBe(204);
    expect((await handler(event({ Authorization: 'Bearer secret-key' }), context)).statusCode).toBe(204);
    expect((await handler(event({ 'X-Api-Key': 'wrong' }), context)).statusCode).toBe(401);
  });
});
