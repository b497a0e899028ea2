/**
 * `npm start` as a newcomer meets it: it serves the routes and stops cleanly on SIGTERM; and every
 * mistake (a bad variable, a taken port, a missing datafile) stops it with one line naming the
 * setting, exit code 1, before DynamoDB Local is started (so nothing is left running).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../../scripts/local/dynamodb-local';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const tsx = resolve(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const children: ChildProcess[] = [];

function start(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [tsx, 'scripts/start.ts', '--in-memory'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', TABLE_NAME: `start-${randomUUID().slice(0, 8)}`, ...env },
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c;
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c;
  });
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  return { child, output: () => output, exited };
}

async function listening(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('npm start', () => {
  it('serves the routes on the local DynamoDB and stops on SIGTERM', async () => {
    const port = await freePort();
    const run = start({
      PORT: String(port),
      DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT ?? '',
      // A cold DynamoDB Local on a busy machine: the read-through's budget must not decide the test.
      PROFILE_API_TIMEOUT_MS: '2000',
    });
    let health: Response | undefined;
    for (let i = 0; i < 100 && !health; i++) {
      await new Promise((r) => setTimeout(r, 200));
      if (run.output().includes('Crosswalk is running'))
        health = await fetch(`http://127.0.0.1:${port}/health`);
    }
    expect(health?.status).toBe(200);
    expect(run.output()).toContain('local sink');
    // Its local Profile API stand-in: Chiara, whom only Segment knows, is learned on her first decide.
    expect(run.output()).toContain('Profile API: read-through from');
    const chiara = await fetch(`http://127.0.0.1:${port}/v1/decide?keys=team_dashboard`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'dev-admin-key' },
      body: JSON.stringify({
        identifiers: { anonymous_id: 'web-3b8e21' },
        decideOptions: ['DISABLE_DECISION_EVENT'],
      }),
    });
    expect(await chiara.json()).toMatchObject({ identity: { source: 'profile-api', userId: 'chiara-789' } });
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, 60_000);

  it('answers a quick 503 with Retry-After to requests during start-up, and never dies of them', async () => {
    const port = await freePort();
    const run = start({ PORT: String(port), DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT ?? '' });
    const seen: number[] = [];
    let retryAfter: string | null = null;
    // From the first millisecond: refused until it listens, then 503 until ready, then 200.
    for (let i = 0; i < 3000 && !seen.includes(200) && run.child.exitCode === null; i++) {
      try {
        const [health, decide] = await Promise.all([
          fetch(`http://127.0.0.1:${port}/health`),
          fetch(`http://127.0.0.1:${port}/v1/decide`, { method: 'POST', body: '{}' }),
        ]);
        await Promise.all([health.text(), decide.text()]);
        seen.push(health.status);
        if (health.status === 503) retryAfter = health.headers.get('retry-after');
        if (decide.status === 503) expect(decide.headers.get('retry-after')).toBe('1');
      } catch {
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    expect(run.child.exitCode).toBeNull();
    expect(seen).toContain(503);
    expect(retryAfter).toBe('1');
    expect(seen.at(-1)).toBe(200);
    expect(new Set(seen)).toEqual(new Set([503, 200]));
    expect(run.output()).toContain('Crosswalk is running');
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, 60_000);

  it.each([
    [{ PORT: 'abc' }, /^crosswalk: PORT is "abc": not a TCP port/],
    [{ MAX_DECIDE_KEYS: 'abc' }, /^crosswalk: MAX_DECIDE_KEYS is "abc": not a number; use a whole number/],
    [{ LOG_LEVEL: 'verbose' }, /^crosswalk: LOG_LEVEL is "verbose": .*debug, info, warn, error, silent/],
    [{ REQUIRE_AUTH: 'ture' }, /^crosswalk: REQUIRE_AUTH is "ture": .*true or false/],
    [{ IDENTITY_BLOCKED_VALUES: '[' }, /^crosswalk: IDENTITY_BLOCKED_VALUES is "\[": .*regular expression/],
    [
      { OPTIMIZELY_DATAFILE: '/missing.json' },
      /^crosswalk: OPTIMIZELY_DATAFILE is "\/missing.json": no such file/,
    ],
  ])(
    'refuses %p in one line, before starting anything',
    async (env, message) => {
      const run = start(env);
      expect(await run.exited).toBe(1);
      expect(run.output().trim().split('\n')).toEqual([expect.stringMatching(message)]);
    },
    60_000,
  );

  it.each(['PORT', 'DYNAMODB_LOCAL_PORT'])(
    'refuses a %s that is taken, in one line',
    async (setting) => {
      const taken = await listening();
      try {
        const env: Record<string, string> =
          setting === 'PORT'
            ? { PORT: String(taken.port) }
            : { PORT: String(await freePort()), DYNAMODB_LOCAL_PORT: String(taken.port) };
        const run = start(env);
        expect(await run.exited).toBe(1);
        expect(run.output().trim().split('\n')).toEqual([
          expect.stringMatching(
            new RegExp(`^crosswalk: port ${taken.port} \\(${setting}\\) is already in use`),
          ),
        ]);
      } finally {
        taken.server.close();
      }
    },
    60_000,
  );
});
