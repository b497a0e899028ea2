/**
 * The backfill (src/segment/backfill.ts) on DynamoDB Local: Segment's S3 archive (one file, a
 * folder tree, an s3:// prefix on moto server) and Profiles Sync exports (CSV, NDJSON) load the graph
 * the webhook would have built; broken lines are reported with their line numbers and reasons, a
 * truncated gzip keeps what it held; running it twice, resuming after an interruption, or running it
 * while the webhook is live gives the same graph; a 500 MB source streams in bounded memory.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { backfillDependencies } from '../../../functions/segment-backfill/dependencies';
import { createBackfillHandler } from '../../../functions/segment-backfill/handler';
import { sendSegment } from '../../../scripts/demo/client';
import { demoEvents } from '../../../scripts/demo/story';
import { DynamoDbIdentityStore } from '../../../src/identity/dynamodb/identity-store';
import { type BackfillRun, type RejectedLine, runBackfill } from '../../../src/segment/backfill';
import { type BackfillFile, backfillFiles, createS3Client } from '../../../src/segment/backfill-sources';
import { startTestApp, testConfig } from '../../support/app';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import { listProfiles } from '../../support/identity-items';
import { type Moto, startMoto } from '../../support/moto';

const run = randomUUID().slice(0, 6);
const work = mkdtempSync(join(tmpdir(), 'crosswalk-backfill-'));
const tables: TestTable[] = [];
let moto: Moto | undefined;

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await moto?.stop();
  for (const table of tables) await table.drop();
});

async function newTable(prefix = 'backfill'): Promise<TestTable> {
  const table = await createTestTable(prefix);
  tables.push(table);
  return table;
}

/** The archive's lines: Segment messages as its S3 destination stores them (with receivedAt). */
function archived(events: Record<string, unknown>[]): string[] {
  return events.map((e) =>
    JSON.stringify({ ...e, receivedAt: new Date(Date.parse(String(e.timestamp)) + 1_000).toISOString() }),
  );
}

const story = () => archived(demoEvents(Date.UTC(2026, 10, 1)));

function deps(tableName: string, extra: Record<string, string> = {}) {
  return backfillDependencies(testConfig({ TABLE_NAME: tableName, S3_ENDPOINT: moto!.endpoint, ...extra }));
}

async function backfill(
  tableName: string,
  source: string | BackfillFile[],
  options: Partial<BackfillRun> = {},
) {
  const d = deps(tableName);
  const files = typeof source === 'string' ? await backfillFiles(source, d.s3) : source;
  const rejected: RejectedLine[] = [];
  const summary = await runBackfill(d, {
    source: typeof source === 'string' ? source : `test-${run}`,
    files,
    onRejected: (r) => rejected.push(r),
    ...options,
  });
  return { summary, rejected };
}

/** The whole graph, as compared across runs: every profile's identifiers (with first sightings), traits, audiences, accounts. */
async function graphOf(tableName: string) {
  const profiles = await listProfiles({ client: tables[0]!.client, tableName });
  return profiles
    .filter((p) => !p.expired)
    .map(({ state }) => ({
      identifiers: state.identifiers.map((i) => `${i.type}:${i.value}@${i.firstSeen}`).sort(),
      traits: Object.fromEntries(Object.entries(state.traits).map(([k, v]) => [k, v.value])),
      audiences: Object.entries(state.audiences)
        .filter(([, v]) => v.value)
        .map(([k]) => k)
        .sort(),
      accounts: Object.entries(state.accounts)
        .map(([id, m]) => `${id}@${m.joinedAt}`)
        .sort(),
    }))
    .sort((a, b) => (a.identifiers.join() < b.identifiers.join() ? -1 : 1));
}

/** The graph the webhook builds from the same events. */
async function webhookGraph(events: string[]) {
  const table = await newTable('backfill-webhook');
  const app = await startTestApp({ TABLE_NAME: table.tableName, MAX_EVENT_AGE_DAYS: '3650' });
  try {
    const answer = await sendSegment(
      { url: app.url },
      events.map((l) => JSON.parse(l) as unknown),
    );
    expect(answer.status).toBe(200);
  } finally {
    await app.close();
  }
  return graphOf(table.tableName);
}

function file(name: string, content: string | Buffer): string {
  const path = join(work, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

describe('Segment’s S3 archive', () => {
  it('loads a gzipped file into the graph the webhook builds, listing each broken line with its reason', async () => {
    const lines = story();
    const broken = [
      lines[0]!,
      '{"type": "identify", "userId": ',
      lines[1]!,
      JSON.stringify({
        type: 'identify',
        messageId: `no-user-${run}`,
        timestamp: '2026-11-01T10:00:00.000Z',
        traits: {},
      }),
      ...lines.slice(2),
      '',
      'not json at all',
    ];
    const path = file(`one-${run}.gz`, gzipSync(`${broken.join('\n')}\n`));
    const table = await newTable();
    const { summary, rejected } = await backfill(table.tableName, path);
    expect(summary.complete).toBe(true);
    expect(summary.totals).toMatchObject({ accepted: 8, rejected: 3 });
    expect(rejected.map((r) => [r.line, r.reason])).toEqual([
      [2, expect.stringMatching(/^not JSON/)],
      [4, 'userId: userId or anonymousId is required'],
      [12, expect.stringMatching(/^not JSON/)],
    ]);
    expect(await graphOf(table.tableName)).toEqual(await webhookGraph(lines));
  });

  it('changes nothing when run twice', async () => {
    const path = file(`twice-${run}.gz`, gzipSync(story().join('\n')));
    const table = await newTable();
    await backfill(table.tableName, path);
    const once = await graphOf(table.tableName);
    const again = await backfill(table.tableName, path);
    expect(again.summary).toMatchObject({ complete: true, totals: { accepted: 8, rejected: 0 } });
    expect(await graphOf(table.tableName)).toEqual(once);
    expect(once.length).toBeGreaterThan(1);
  });

  it('reads a folder tree as Segment writes it, skipping its dummy object, and keeps what a truncated gzip held', async () => {
    const lines = story();
    const day = (n: number) => String(Date.UTC(2026, 10, n));
    const root = join(work, `tree-${run}`, 'segment-logs', 'src1');
    file(join(`tree-${run}`, 'segment-logs', 'dummy-object.txt'), 'validation');
    file(
      join(`tree-${run}`, 'segment-logs', 'src1', day(1), `${day(1)}.${randomUUID()}.gz`),
      gzipSync(lines.slice(0, 4).join('\n')),
    );
    const whole = gzipSync(lines.slice(4).join('\n'));
    file(
      join(`tree-${run}`, 'segment-logs', 'src1', day(2), `${day(2)}.${randomUUID()}.gz`),
      whole.subarray(0, whole.length - 40),
    );
    const table = await newTable();
    const { summary, rejected } = await backfill(table.tableName, join(work, `tree-${run}`));
    expect(root).toContain('segment-logs');
    expect(summary.complete).toBe(true);
    expect(rejected).toEqual([
      expect.objectContaining({
        file: expect.stringContaining(day(2)),
        reason: expect.stringMatching(/truncated/),
      }),
    ]);
    expect(summary.totals.accepted).toBeGreaterThanOrEqual(4);
    expect(summary.totals.accepted).toBeLessThan(8);
  });

  it('resumes after an interruption from where it stopped, to the same graph', async () => {
    const lines = story();
    const path = file(`resume-${run}.ndjson`, lines.join('\n'));
    const table = await newTable();
    let records = 0;
    const first = await backfill(table.tableName, path, { batchSize: 2, shouldStop: () => ++records > 5 });
    expect(first.summary.complete).toBe(false);
    const second = await backfill(table.tableName, path, { batchSize: 2 });
    expect(second.summary).toMatchObject({ complete: true, resumedFrom: { file: path } });
    expect(second.summary.resumedFrom!.line).toBeGreaterThan(0);
    expect(second.summary.totals).toMatchObject({ lines: 8, accepted: 8, rejected: 0 });
    expect(await graphOf(table.tableName)).toEqual(await webhookGraph(lines));
  });

  it('reads an s3:// prefix, as the Lambda function does', async () => {
    const s3 = createS3Client(moto!.endpoint);
    const bucket = `archive-${run}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const lines = story();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'segment-logs/dummy-object.txt', Body: 'x' }));
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `segment-logs/src1/1793491200000/1793491200000.${randomUUID()}.gz`,
        Body: gzipSync(lines.join('\n')),
      }),
    );
    const table = await newTable();
    const handler = createBackfillHandler(deps(table.tableName));
    const summary = await handler(
      { source: `s3://${bucket}/segment-logs/` },
      { getRemainingTimeInMillis: () => 600_000 },
    );
    expect(summary).toMatchObject({ complete: true, totals: { accepted: 8, rejected: 0 } });
    expect(await graphOf(table.tableName)).toEqual(await webhookGraph(lines));
    // Near its timeout, it stops with a checkpoint; invoked again, it finishes.
    const other = await newTable();
    const stopping = createBackfillHandler(deps(other.tableName));
    const cut = await stopping(
      { source: `s3://${bucket}/segment-logs/` },
      { getRemainingTimeInMillis: () => 1_000 },
    );
    expect(cut.complete).toBe(false);
    const done = await stopping(
      { source: `s3://${bucket}/segment-logs/` },
      { getRemainingTimeInMillis: () => 600_000 },
    );
    expect(done.complete).toBe(true);
    await expect(
      stopping({ source: '/etc/passwd' }, { getRemainingTimeInMillis: () => 600_000 }),
    ).rejects.toThrow(/s3:/);
  });

  it('is safe with the webhook live: both at once give the graph of either', async () => {
    const lines = story();
    const path = file(`live-${run}.ndjson`, lines.join('\n'));
    const table = await newTable();
    const app = await startTestApp({ TABLE_NAME: table.tableName, MAX_EVENT_AGE_DAYS: '3650' });
    try {
      const events = lines.map((l) => JSON.parse(l) as unknown).reverse();
      const [backfilled] = await Promise.all([
        backfill(table.tableName, path, { batchSize: 1 }),
        ...events.map((e) => sendSegment({ url: app.url }, [e])),
      ]);
      expect(backfilled.summary.totals.rejected).toBe(0);
    } finally {
      await app.close();
    }
    expect(await graphOf(table.tableName)).toEqual(await webhookGraph(lines));
  });
});

describe('npm run backfill', () => {
  const tsx = resolve(import.meta.dirname, '..', '..', '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const cli = (args: string[], tableName: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      const child = spawn(process.execPath, [tsx, 'scripts/backfill.ts', ...args], {
        cwd: resolve(import.meta.dirname, '..', '..', '..'),
        env: {
          PATH: process.env.PATH ?? '',
          DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT ?? '',
          TABLE_NAME: tableName,
          AWS_REGION: 'local',
          LOG_LEVEL: 'silent',
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c;
      });
      child.stderr.on('data', (c: Buffer) => {
        stderr += c;
      });
      child.on('close', (code) => done({ code, stdout, stderr }));
    });

  it('exits 0 when every line loaded, 2 when some were rejected (each listed), 1 when it cannot run', async () => {
    const table = await newTable('backfill-cli');
    const clean = file(`cli-clean-${run}.gz`, gzipSync(story().join('\n')));
    const ok = await cli([clean], table.tableName);
    expect({ code: ok.code, stderr: ok.code === 0 ? '' : ok.stderr }).toEqual({ code: 0, stderr: '' });
    expect(ok.stdout).toMatch(/Backfill complete .*8 lines/);
    expect(ok.stdout).toMatch(/loaded: +8/);

    const broken = file(`cli-broken-${run}.ndjson`, [story()[0], '{oops', story()[1]].join('\n'));
    const some = await cli([broken], table.tableName);
    expect(some.code).toBe(2);
    expect(some.stderr).toContain(`rejected: ${broken}:2: not JSON`);
    expect(some.stdout).toMatch(/rejected: 1 line/);

    const missing = await cli([join(work, 'no-such-file')], table.tableName);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such file or folder/);
  }, 120_000);
});

describe('Profiles Sync exports', () => {
  const T = '2026-10-01 09:00:00.000 UTC';
  const T5 = '2026-10-01 09:05:00.000 UTC';
  const identifiersCsv = [
    'CANONICAL_SEGMENT_ID,TYPE,VALUE,SEQ,RECEIVED_AT,UUID_TS,TIMESTAMP',
    `use_A${run},anonymous_id,sync-anon-${run},1,${T},${T},${T}`,
    `use_A${run},user_id,sync-user-${run},2,${T5},${T5},${T5}`,
    `use_A${run},email,Sync-${run}@Example.com,3,${T5},${T5},${T5}`,
    `use_B${run},user_id,"quoted, ${run}",1,${T},${T},${T}`,
    `use_C${run},user_id,,1,${T},${T},${T}`,
  ].join('\n');
  const traits = [
    { canonical_segment_id: `use_A${run}`, name: 'plan', value: '"pro"', timestamp: T5 },
    { canonical_segment_id: `use_A${run}`, name: 'seats', value: '12', timestamp: T5 },
    { canonical_segment_id: `use_A${run}`, name: 'vip', value: 'true', timestamp: T5 },
    { canonical_segment_id: `use_A${run}`, name: 'zip', value: '01234', timestamp: T5 },
    { canonical_segment_id: `use_Z${run}`, name: 'plan', value: 'free', timestamp: T5 },
  ];
  const linksCsv = [
    'canonical_segment_id,group_id,timestamp,traits',
    `use_A${run},sync-acct-${run},${T5},"{""plan"": ""team""}"`,
  ].join('\n');

  it('links identifiers, traits and accounts from CSV and NDJSON, listing the rows it cannot use', async () => {
    const folder = join(work, `sync-${run}`);
    file(join(`sync-${run}`, 'user_identifiers.csv'), identifiersCsv);
    file(join(`sync-${run}`, 'user_traits.ndjson'), traits.map((t) => JSON.stringify(t)).join('\n'));
    file(join(`sync-${run}`, 'z_account_links.csv'), linksCsv);
    const table = await newTable();
    const { summary, rejected } = await backfill(table.tableName, folder);
    expect(summary.complete).toBe(true);
    expect(rejected.map((r) => [r.file.split('/').at(-1), r.line, r.reason])).toEqual([
      ['user_identifiers.csv', 6, 'type and value are required'],
      ['user_traits.ndjson', 5, 'no profile holds these identifiers yet (their person is not loaded)'],
    ]);
    const graph = await graphOf(table.tableName);
    const a = graph.find((p) => p.identifiers.some((i) => i.startsWith(`user_id:sync-user-${run}`)))!;
    const at = (text: string) => Date.parse(text.replace(' UTC', 'Z').replace(' ', 'T'));
    expect(a).toEqual({
      identifiers: [
        `anonymous_id:sync-anon-${run}@${at(T)}`,
        `email:sync-${run}@example.com@${at(T5)}`,
        `segment_id:use_A${run}@${at(T5)}`,
        `user_id:sync-user-${run}@${at(T5)}`,
      ].sort(),
      traits: { plan: 'pro', seats: 12, vip: true, zip: '01234' },
      audiences: [],
      accounts: [`sync-acct-${run}@${at(T5)}`],
    });
    expect(graph.some((p) => p.identifiers.some((i) => i.startsWith(`user_id:quoted, ${run}@`)))).toBe(true);
    // Segment's profile id never becomes the experiment id: the anonymous id seen first does.
    const store = new DynamoDbIdentityStore({ client: table.client, tableName: table.tableName });
    const snapshot = (await store.getIdentifiers([{ type: 'user_id', value: `sync-user-${run}` }]))
      .values()
      .next().value!.snapshot;
    expect(snapshot.anchor).toEqual({ type: 'anonymous_id', value: `sync-anon-${run}` });
    // Run twice: nothing changes.
    await backfill(table.tableName, folder, { restart: true });
    expect(await graphOf(table.tableName)).toEqual(graph);
  });
});

describe('a 500 MB source', () => {
  it('streams in bounded memory', async () => {
    const people = 40;
    const pad = 'x'.repeat(30_000);
    const total = 500 * 1024 * 1024;
    let produced = 0;
    let n = 0;
    const generated: BackfillFile = {
      name: 'generated-500MB.ndjson',
      size: undefined,
      open: async () =>
        new Readable({
          read() {
            if (produced >= total) {
              this.push(null);
              return;
            }
            const p = n % people;
            const line = `${JSON.stringify({
              type: 'track',
              event: 'Viewed',
              messageId: `big-${run}-${n}`,
              timestamp: new Date(Date.UTC(2026, 10, 1) + n).toISOString(),
              userId: `big-${run}-${p}`,
              anonymousId: `big-anon-${run}-${p}`,
              properties: { pad },
            })}\n`;
            n++;
            produced += line.length;
            this.push(line);
          },
        }),
    };
    const table = await newTable();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    try {
      const { summary } = await backfill(table.tableName, [generated]);
      expect(summary.complete).toBe(true);
      expect(produced).toBeGreaterThanOrEqual(total);
      expect(summary.totals).toMatchObject({ lines: n, accepted: n, rejected: 0 });
    } finally {
      clearInterval(sampler);
    }
    // The source is 500 MB; what was held at once stays far below it.
    expect((peak - baseline) / 2 ** 20).toBeLessThan(256);
    const graph = await graphOf(table.tableName);
    expect(graph).toHaveLength(people);
  }, 240_000);
});
