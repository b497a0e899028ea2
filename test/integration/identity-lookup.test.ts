/**
 * POST /v1/identities/lookup, the lookup with the identifier in the body (the console's): the same
 * answer and the same rules as GET /v1/identities/{type}/{value} (operator keys only, byte caps, 404
 * when unknown, one `profile read` line naming no value and no key), no caching of any answer, and
 * identifier values a path cannot carry.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { identityLookupDependencies } from '../../functions/identity-lookup/dependencies';
import { createIdentityLookupHandler } from '../../functions/identity-lookup/handler';
import { sendSegment } from '../../scripts/demo/client';
import { runDemo } from '../../scripts/demo/run-demo';
import { ALBERT, ALBERT_IDENTIFIERS } from '../../scripts/demo/story';
import { SAMPLE_DATAFILE } from '../../scripts/local/local-stack';
import { keyFingerprint } from '../../src/platform/http/auth';
import { createObservability } from '../../src/platform/observability/logger';
import { callHandler, startTestApp, type TestApp } from '../support/app';
import { createTestTable, type TestTable } from '../support/dynamodb';

const CLIENT = 'lookup-client-key';
const ADMIN = 'lookup-operator-key';
const SECRET = 'lookup-segment-secret';
const TOKEN = 'lookup-webhook-token';
/** A value a URL path cannot carry: API Gateway decodes the path once, and `?` or `#` end it. */
const ODD = 'odd/value?x=1#frag%41';

let table: TestTable | undefined;
let app: TestApp | undefined;

beforeAll(async () => {
  table = await createTestTable('lookup');
  app = await startTestApp({
    TABLE_NAME: table.tableName,
    API_KEYS: CLIENT,
    ADMIN_API_KEYS: ADMIN,
    SEGMENT_SHARED_SECRET: SECRET,
    SEGMENT_WEBHOOK_TOKEN: TOKEN,
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE,
    MAX_IDENTIFIER_BYTES: '64',
    MAX_BODY_BYTES: '1024',
  });
  const client = { url: app.url, apiKey: CLIENT, segmentSecret: SECRET, segmentToken: TOKEN };
  await runDemo(client);
  const odd = await sendSegment(client, {
    type: 'identify',
    messageId: 'lookup-odd-1',
    timestamp: new Date().toISOString(),
    anonymousId: ODD,
    userId: 'lookup-odd-user',
    traits: { plan: 'free' },
  });
  expect(odd.status).toBe(200);
});

afterAll(async () => {
  await app?.close();
  await table?.drop();
});

const lookup = (body: unknown, key: string | null = ADMIN) =>
  fetch(`${app!.url}/v1/identities/lookup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const byPath = (type: string, value: string) =>
  fetch(`${app!.url}/v1/identities/${encodeURIComponent(type)}/${encodeURIComponent(value)}`, {
    headers: { 'x-api-key': ADMIN },
  });

const messageOf = async (response: Response) => ((await response.json()) as { error: string }).error;

describe('POST /v1/identities/lookup', () => {
  it.each(ALBERT_IDENTIFIERS)(
    'answers exactly what the GET route answers, for %s %s',
    async (type, value) => {
      const [posted, got] = await Promise.all([lookup({ type, value }), byPath(type, value)]);
      expect([posted.status, got.status]).toEqual([200, 200]);
      const answer = await posted.json();
      expect(answer).toEqual(await got.json());
      expect(answer).toMatchObject({ userId: ALBERT.userId, primaryAccountId: 'acme' });
    },
  );

  it('normalises as the GET route does: type and email case, surrounding spaces', async () => {
    const answer = await lookup({ type: ' EMAIL ', value: ' Albert@Example.COM ' });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ userId: ALBERT.userId });
  });

  it('finds an identifier whose value a URL path cannot carry', async () => {
    const answer = await lookup({ type: 'anonymous_id', value: ODD });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ userId: 'lookup-odd-user' });
  });

  it('answers 404 for someone nobody knows, and ignores unknown fields', async () => {
    const answer = await lookup({ type: 'email', value: 'nobody@example.com', extra: true });
    expect(answer.status).toBe(404);
    expect(answer.headers.get('x-crosswalk-error')).toBe('NotFoundError');
    expect(await answer.json()).toEqual({ error: 'No profile is known for email nobody@example.com' });
  });

  it('keeps no copy anywhere: no-store on answers, errors included', async () => {
    const answers = await Promise.all([
      lookup({ type: 'email', value: ALBERT.email }),
      lookup({ type: 'email', value: 'nobody@example.com' }),
      lookup({ type: 'email', value: ALBERT.email }, 'wrong-key'),
      byPath('email', ALBERT.email),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 404, 401, 200]);
    for (const answer of answers) {
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('takes operator keys only: a client key is 403 naming the scope, a wrong or missing key 401', async () => {
    const client = await lookup({ type: 'email', value: ALBERT.email }, CLIENT);
    expect(client.status).toBe(403);
    expect(await messageOf(client)).toMatch(/operator key \(ADMIN_API_KEYS\)/);
    expect((await lookup({ type: 'email', value: ALBERT.email }, 'wrong-key')).status).toBe(401);
    expect((await lookup({ type: 'email', value: ALBERT.email }, null)).status).toBe(401);
  });

  it('checks the key before the body: a client key with a broken body is still 403', async () => {
    expect((await lookup('{not json', CLIENT)).status).toBe(403);
    expect((await lookup('x'.repeat(5000), 'wrong-key')).status).toBe(401);
  });

  it('applies the byte caps: identifier value (MAX_IDENTIFIER_BYTES), type (128 bytes), body (MAX_BODY_BYTES)', async () => {
    const value = await lookup({ type: 'email', value: `${'é'.repeat(33)}@x` });
    expect(value.status).toBe(400);
    expect(await messageOf(value)).toMatch(
      /^value: identifier value is longer than 64 bytes \(MAX_IDENTIFIER_BYTES\)/,
    );
    const type = await lookup({ type: 't'.repeat(129), value: 'v' });
    expect(type.status).toBe(400);
    expect(await messageOf(type)).toMatch(/^type: identifier type is longer than 128 bytes/);
    const body = await lookup({ type: 'email', value: 'a@b.c', padding: 'p'.repeat(1100) });
    expect(body.status).toBe(413);
    expect(await messageOf(body)).toMatch(/MAX_BODY_BYTES/);
  });

  it('names what is wrong with a body that is not a lookup', async () => {
    const cases: [unknown, RegExp][] = [
      ['{not json', /^body: not valid JSON/],
      ['', /^body: empty/],
      [['email', 'a@b.c'], /^body: /],
      [{ type: 'email' }, /^value: /],
      [{ type: '', value: 'v' }, /^type: identifier type is required/],
      [{ type: 'email', value: 42 }, /^value: /],
      [{ type: 'email', value: '\ud800' }, /^value: identifier value is not well-formed Unicode/],
    ];
    for (const [body, message] of cases) {
      const answer = await lookup(body);
      expect({ body, status: answer.status }).toEqual({ body, status: 400 });
      expect(await messageOf(answer)).toMatch(message);
    }
  });
});

describe('the profile read log line', () => {
  it('names the route, the identifier type and the key fingerprint: never the value or the key', async () => {
    const lines: string[] = [];
    const observability = createObservability({
      level: 'info',
      metrics: 'off',
      write: (_level, line) => lines.push(line),
    });
    const handler = createIdentityLookupHandler({
      ...identityLookupDependencies(app!.config),
      observability,
    });
    const answer = await callHandler(handler, {
      method: 'POST',
      url: '/v1/identities/lookup',
      headers: { 'x-api-key': ADMIN },
      body: { type: 'email', value: ALBERT.email },
    });
    expect(answer.statusCode).toBe(200);
    const reads = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.message === 'profile read');
    expect(reads).toEqual([
      expect.objectContaining({
        route: 'POST /v1/identities/lookup',
        identifierType: 'email',
        key: keyFingerprint(app!.config.EXPERIMENT_ID_SECRET, ADMIN),
      }),
    ]);
    // Keyed with the deployment's secret: not the unsalted SHA-256 prefix anyone could recompute.
    const unsalted = createHash('sha256').update(ADMIN).digest('hex').slice(0, 12);
    expect(reads[0]!.key).toMatch(/^[0-9a-f]{12}$/);
    expect(reads[0]!.key).not.toBe(unsalted);
    expect(lines.join('\n')).not.toContain(unsalted);
    expect(lines.join('\n')).not.toContain(ADMIN);
    expect(lines.join('\n')).not.toContain(ALBERT.email);
  });
});
