/**
 * Access to a store of personal data: operator keys for profiles, client keys for decisions (whose
 * answers never show a stored trait), the projects a deployment serves, and attributes that look
 * personal never sent, even when a datafile declares them.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decide } from '../../scripts/demo/client';
import { runDemo } from '../../scripts/demo/run-demo';
import { ALBERT_IDENTIFIERS, BIANCA } from '../../scripts/demo/story';
import { SAMPLE_DATAFILE } from '../../scripts/local/local-stack';
import { startTestApp, type TestApp } from '../support/app';
import { createTestTable, type TestTable } from '../support/dynamodb';
import { startTestOptimizely, type TestOptimizely } from '../support/optimizely';

const CLIENT = 'client-key';
const ADMIN = 'operator-key';
const SECRET = 'access-segment-secret';
const TOKEN = 'access-webhook-token';
let table: TestTable | undefined;
let optimizely: TestOptimizely | undefined;
let app: TestApp | undefined;
const personalDatafile = join(tmpdir(), `personal-datafile-${randomUUID().slice(0, 6)}.json`);

beforeAll(async () => {
  // The sample datafile, declaring attributes that look personal, and one audience on them.
  const datafile = JSON.parse(readFileSync(SAMPLE_DATAFILE, 'utf8')) as {
    attributes: { id: string; key: string }[];
  };
  datafile.attributes.push({ id: '99001', key: 'email' }, { id: '99002', key: 'name' });
  writeFileSync(personalDatafile, JSON.stringify(datafile));
  [table, optimizely] = await Promise.all([createTestTable('access'), startTestOptimizely()]);
  app = await startTestApp({
    TABLE_NAME: table.tableName,
    API_KEYS: CLIENT,
    ADMIN_API_KEYS: ADMIN,
    SEGMENT_SHARED_SECRET: SECRET,
    SEGMENT_WEBHOOK_TOKEN: TOKEN,
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_DATAFILE: personalDatafile,
    OPTIMIZELY_SDK_KEYS: 'local-sample',
    OPTIMIZELY_EVENT_ENDPOINT: optimizely.eventEndpoint,
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: optimizely.datafileUrlTemplate,
    ACCOUNT_BUCKETED_FLAGS: 'team_dashboard',
  });
  await runDemo({ url: app.url, apiKey: CLIENT, segmentSecret: SECRET, segmentToken: TOKEN });
});

afterAll(async () => {
  try {
    // Decision events leave after the answers: let the server finish them before checking.
    await app?.server.idle();
    optimizely?.assertNoPersonalData();
  } finally {
    await app?.close();
    await optimizely?.close();
    await table?.drop();
  }
});

const lookup = (key: string) =>
  fetch(`${app!.url}/v1/identities/email/albert@example.com`, { headers: { 'x-api-key': key } });

describe('scoped keys', () => {
  it('answers a client key 403 on profile lookups, naming the scope, and an operator key 200', async () => {
    const refused = await lookup(CLIENT);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toMatch(/operator key \(ADMIN_API_KEYS\)/);
    expect((await lookup(ADMIN)).status).toBe(200);
    expect((await lookup('nobody')).status).toBe(401);
  });

  it('answers client keys with what their request sent, never a stored trait of the demo people', async () => {
    const profiles = await Promise.all(
      [...ALBERT_IDENTIFIERS.slice(3, 4), ['user_id', BIANCA.userId] as const].map(async ([type, value]) => {
        const response = await fetch(`${app!.url}/v1/identities/${type}/${encodeURIComponent(value)}`, {
          headers: { 'x-api-key': ADMIN },
        });
        return (await response.json()) as {
          traits: Record<string, unknown>;
          accounts: { traits: Record<string, unknown> }[];
        };
      }),
    );
    const stored = profiles
      .flatMap((p) => [...Object.values(p.traits), ...p.accounts.flatMap((a) => Object.values(a.traits))])
      .filter((v) => typeof v === 'string' || typeof v === 'number')
      .map(String);
    expect(stored).toEqual(expect.arrayContaining(['Albert Zweistein', 'enterprise', 'Software']));
    const people = [...ALBERT_IDENTIFIERS, ['user_id', BIANCA.userId] as const];
    for (const [type, value] of people) {
      const body = type === 'user_id' ? { userId: value } : { identifiers: { [type]: value } };
      const answer = await decide<{ userContext: { attributes: unknown } }[]>(
        { url: app!.url, apiKey: CLIENT },
        { ...body, userAttributes: { country: 'FR' }, decideOptions: ['DISABLE_DECISION_EVENT'] },
      );
      expect(answer.status).toBe(200);
      for (const decision of answer.body) expect(decision.userContext.attributes).toEqual({ country: 'FR' });
      const text = JSON.stringify(answer.body);
      const sent = JSON.stringify(body);
      // What the request itself sent may come back (Agent echoes it); nothing else stored may.
      for (const value of stored)
        if (!sent.includes(value))
          expect({ value, leaked: text.includes(`"${value}"`) }).toEqual({ value, leaked: false });
    }
  });
});

describe('projects this deployment serves', () => {
  it('refuses another SDK key with 403 before fetching or storing anything', async () => {
    const before = optimizely!.optimizely.datafileRequests.length;
    for (let i = 0; i < 50; i++) {
      const response = await fetch(`${app!.url}/v1/decide`, {
        method: 'POST',
        headers: {
          'x-api-key': CLIENT,
          'content-type': 'application/json',
          'x-optimizely-sdk-key': `rnd${randomUUID().replaceAll('-', '')}`,
        },
        body: JSON.stringify({ userId: 'u' }),
      });
      expect(response.status).toBe(403);
      if (i === 0) {
        // Agent's answer in the body; which rule refused it, in the detail header.
        expect(((await response.json()) as { error: string }).error).toBe(
          'unable to fetch fresh datafile (consider rechecking SDK key), status code: 403 Forbidden',
        );
        expect(response.headers.get('x-crosswalk-error-detail')).toMatch(
          /not served by this deployment \(OPTIMIZELY_SDK_KEYS\)/,
        );
      }
    }
    expect(optimizely!.optimizely.datafileRequests.length).toBe(before);
    const items = await table!.client.send(
      new ScanCommand({
        TableName: table!.tableName,
        FilterExpression: 'begins_with(pk, :p)',
        ExpressionAttributeValues: { ':p': { S: 'DATAFILE#' } },
      }),
    );
    expect(items.Count).toBe(0);
  });
});

describe('attributes that look personal', () => {
  it('never sends email or name, although the datafile declares them and the request and profile carry them', async () => {
    optimizely!.personal('albert@example.com', 'Albert Zweistein', 'Jo Personal');
    const answer = await decide(
      { url: app!.url, apiKey: ADMIN },
      { userId: 'albert-123', userAttributes: { email: 'jo@personal.example', name: 'Jo Personal' } },
      ['checkout_redesign'],
    );
    expect(answer.status).toBe(200);
    // Decision events go out after the answer: wait for the server to finish them.
    await app!.server.idle();
    const attributes = optimizely!.optimizely.visitors().flatMap((v) => v.attributes.map((a) => a.key));
    expect(attributes.length).toBeGreaterThan(0);
    expect(attributes).not.toContain('email');
    expect(attributes).not.toContain('name');
  });
});
