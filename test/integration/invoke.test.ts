/**
 * `npm run invoke` on every sample event of events/, as a user runs it: each function answers its
 * sample with success, offline (loopback Optimizely, the run's DynamoDB Local). The Segment sample
 * goes first, so the identities and decide samples find Albert. Also: a bad setting stops it with
 * one line before anything runs.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from '@jest/globals';
import { demoEvents } from '../../scripts/demo/story';
import { type FunctionName, functionSpecs } from '../../src/platform/routes';
import { createS3Client } from '../../src/segment/backfill-sources';
import { startMoto } from '../support/moto';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const tsx = resolve(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const table = `invoke-${randomUUID().slice(0, 8)}`;

function invoke(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [tsx, 'scripts/invoke.ts', ...args], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT ?? '',
        TABLE_NAME: table,
        LOG_LEVEL: 'silent',
        ...env,
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
}

describe('npm run invoke', () => {
  const order: FunctionName[] = [
    'segment-webhook',
    'identity-lookup',
    'profile-reads',
    'agent-api',
    'health',
    'console',
    'optimizely-webhook',
  ];
  const scheduled: FunctionName[] = ['event-redelivery'];
  const onDemand: FunctionName[] = ['segment-backfill'];

  it('covers every function of the route table', () => {
    expect([...order, ...scheduled, ...onDemand].sort()).toEqual(Object.keys(functionSpecs).sort());
  });

  it('runs the backfill function on its sample, reading the prefix from a local S3 (moto server)', async () => {
    const moto = await startMoto();
    try {
      const s3 = createS3Client(moto.endpoint);
      await s3.send(new CreateBucketCommand({ Bucket: 'crosswalk-backfill-sample' }));
      await s3.send(
        new PutObjectCommand({
          Bucket: 'crosswalk-backfill-sample',
          Key: 'segment-logs/src/1793491200000/1793491200000.sample.gz',
          Body: gzipSync(
            demoEvents()
              .map((e) => JSON.stringify(e))
              .join('\n'),
          ),
        }),
      );
      const result = await invoke(['segment-backfill'], { S3_ENDPOINT: moto.endpoint });
      expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({
        code: 0,
        stderr: '',
      });
      expect(JSON.parse(result.stdout)).toMatchObject({
        complete: true,
        totals: { accepted: 8, rejected: 0 },
      });
    } finally {
      await moto.stop();
    }
  }, 60_000);

  it('runs the redelivery function on its scheduled-event sample, offline: an empty outbox, a complete run', async () => {
    const result = await invoke(['event-redelivery']);
    expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({
      code: 0,
      stderr: '',
    });
    expect(JSON.parse(result.stdout)).toEqual({
      due: 0,
      redelivered: 0,
      dropped: 0,
      stillUndelivered: 0,
      claimedElsewhere: 0,
      oldestUndeliveredAgeSeconds: 0,
      complete: true,
      // No Segment delete is waiting for its erasure.
      erasure: { jobs: 0, pending: 0, profiles: 0, overrides: 0, events: 0 },
    });
  }, 60_000);

  it.each(order)(
    'answers the sample event of %s with success, offline',
    async (fn) => {
      const result = await invoke([fn]);
      expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({
        code: 0,
        stderr: '',
      });
      const answer = JSON.parse(result.stdout) as { statusCode: number; body: string };
      expect({ fn, status: answer.statusCode, body: answer.statusCode < 300 ? '' : answer.body }).toEqual({
        fn,
        status: 200,
        body: '',
      });
      if (fn === 'identity-lookup')
        expect(JSON.parse(answer.body)).toMatchObject({ canonicalId: expect.any(String) });
    },
    60_000,
  );

  it('answers the track sample too (a second event file of the agent-api function)', async () => {
    const result = await invoke(['agent-api', 'events/track.json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ statusCode: 200 });
  }, 60_000);

  it('stops before running anything on a bad setting, with one line naming it', async () => {
    const result = await invoke(['health'], { MAX_DECIDE_KEYS: 'lots' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^crosswalk: MAX_DECIDE_KEYS is "lots"/),
    ]);
  }, 60_000);
});
