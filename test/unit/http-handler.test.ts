/**
 * The shared HTTP wrapper: header names reach handlers lowercased (hand-written events for
 * `npm run invoke` or `sam local invoke` may capitalise them), every log line of a request carries
 * its context, and errors go through the one error table.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { Context } from 'aws-lambda';
import { currentDeadline } from '../../src/platform/core/deadline';
import { DependencyUnavailableError } from '../../src/platform/core/errors';
import type { HttpEvent } from '../../src/platform/http/api-gateway';
import { apiKeyAuth, keyFingerprint } from '../../src/platform/http/auth';
import { DEADLINE_MARGIN_MS, httpHandler } from '../../src/platform/http/http-handler';
import { createObservability, silent } from '../../src/platform/observability/logger';
import { cachedSecrets } from '../../src/platform/secrets';
import { recordingObservability } from '../support/events';

const context = { awsRequestId: 'http-handler-test' } as Context;

function event(headers: Record<string, string>): HttpEvent {
  return { routeKey: 'GET /x', rawPath: '/x', headers } as unknown as HttpEvent;
}

describe('httpHandler', () => {
  it('lowercases header names before the handler runs', async () => {
    let seen: Record<string, string | undefined> | undefined;
    const handler = httpHandler(async (e) => {
      seen = e.headers;
      return { statusCode: 204 };
    }, silent);
    await handler(event({ 'X-Api-Key': 'k', Authorization: 'Bearer t', 'x-plain': 'p' }), context);
    expect(seen).toEqual({ 'x-api-key': 'k', authorization: 'Bearer t', 'x-plain': 'p' });
  });

  it('accepts an API key sent under a capitalised header name', async () => {
    const authenticate = apiKeyAuth(
      cachedSecrets(async () => ({ apiKeys: ['secret-key'], adminApiKeys: [] })),
      {
        requireAuth: true,
      },
    );
    const handler = httpHandler(async (e) => {
      await authenticate(e, 'client');
      return { statusCode: 204 };
    }, silent);
    expect((await handler(event({ 'X-Api-Key': 'secret-key' }), context)).statusCode).toBe(204);
    expect((await handler(event({ Authorization: 'Bearer secret-key' }), context)).statusCode).toBe(204);
    expect((await handler(event({ 'X-Api-Key': 'wrong' }), context)).statusCode).toBe(401);
  });

  it('scopes keys: client keys for client routes, operator keys for everything, 403 naming the scope', async () => {
    const authenticate = apiKeyAuth(
      cachedSecrets(async () => ({
        apiKeys: ['client', 'both'],
        adminApiKeys: ['admin', 'both'],
        experimentIdSecret: 'fingerprint-secret-0123456789',
      })),
      { requireAuth: true },
    );
    const as = (key: string) => event({ 'x-api-key': key });
    expect(await authenticate(as('client'), 'client')).toMatchObject({
      admin: false,
      fingerprint: expect.stringMatching(/^[0-9a-f]{12}$/),
    });
    await expect(authenticate(as('client'), 'admin')).rejects.toThrow(
      /needs an operator key \(ADMIN_API_KEYS\)/,
    );
    expect(await authenticate(as('admin'), 'client')).toMatchObject({ admin: true });
    expect(await authenticate(as('admin'), 'admin')).toMatchObject({ admin: true });
    expect(await authenticate(as('both'), 'admin')).toMatchObject({ admin: true });
    const fingerprint = (await authenticate(as('admin'), 'admin')).fingerprint;
    expect(fingerprint).not.toContain('admin');
    // An HMAC keyed with the deployment's secret, not a hash anyone can recompute from a guess.
    expect(fingerprint).toBe(keyFingerprint('fingerprint-secret-0123456789', 'admin'));
    expect(fingerprint).not.toBe(createHash('sha256').update('admin').digest('hex').slice(0, 12));
    expect(keyFingerprint('another-deployment-secret', 'admin')).not.toBe(fingerprint);
  });

  it('is open locally with no key configured, and refuses everything under REQUIRE_AUTH', async () => {
    const none = cachedSecrets(async () => ({ apiKeys: [], adminApiKeys: [] }));
    expect(await apiKeyAuth(none, { requireAuth: false })(event({}), 'admin')).toEqual({
      admin: true,
      fingerprint: null,
    });
    await expect(apiKeyAuth(none, { requireAuth: true })(event({}), 'client')).rejects.toThrow(/No API keys/);
  });

  it('logs every line of a request with its request id, route and cold-start flag', async () => {
    const lines: Record<string, unknown>[] = [];
    const observability = createObservability({
      level: 'info',
      metrics: 'off',
      write: (_level, line) => lines.push(JSON.parse(line)),
    });
    const handler = httpHandler(async () => {
      observability.logger.info('working');
      return { statusCode: 204 };
    }, observability);
    await handler(event({}), { awsRequestId: 'first' } as Context);
    await handler(event({}), { awsRequestId: 'second' } as Context);
    expect(lines).toEqual([
      expect.objectContaining({ message: 'working', requestId: 'first', route: 'GET /x', coldStart: true }),
      expect.objectContaining({ message: 'working', requestId: 'second', route: 'GET /x', coldStart: false }),
    ]);
  });

  it('answers an unknown error with a generic 500 and logs it', async () => {
    const lines: string[] = [];
    const observability = createObservability({
      level: 'error',
      metrics: 'off',
      write: (_l, line) => lines.push(line),
    });
    const handler = httpHandler(async () => {
      throw new Error('secret: sk_live_123');
    }, observability);
    const result = await handler(event({}), context);
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('sk_live');
    expect(lines.join('\n')).toContain('sk_live_123');
  });

  it("gives the request a deadline a margin before Lambda's timeout, and counts each 503 by its fault", async () => {
    const observability = recordingObservability();
    let deadline: number | undefined;
    const handler = httpHandler(async () => {
      deadline = currentDeadline();
      throw new DependencyUnavailableError('DynamoDB is unavailable or throttling', {
        cause: Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
      });
    }, observability);
    const before = Date.now();
    const answer = await handler(event({}), { ...context, getRemainingTimeInMillis: () => 10_000 });
    expect(answer.statusCode).toBe(503);
    expect(deadline).toBeGreaterThanOrEqual(before + 10_000 - DEADLINE_MARGIN_MS);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 10_000 - DEADLINE_MARGIN_MS);
    expect(observability.counted).toEqual({ DependencyThrottled: 1 });
    expect(observability.logged[0]?.fields).toMatchObject({ status: 503, fault: 'throttled' });
  });
});
