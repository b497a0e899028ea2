/**
 * DynamoDB slow, dropping connections, silent, and throttling, behind the fault proxy
 * (test/support/fault-proxy.ts), through the local server under concurrent load, one fault after
 * the other: +300 ms on every request, connection resets, a black hole, then DynamoDB's two
 * throttling errors (`ThrottlingException`, `ProvisionedThroughputExceededException`, which DynamoDB
 * Local never sends: the proxy answers them as DynamoDB does). What must hold (docs/operations.md):
 *
 * - slow: everything still answers 200, nothing fails open;
 * - any fault: the webhook answers 200 or 503 (+ Retry-After), decide answers 200 within its
 *   timeout (on the request's identifiers when it cannot read), track 200 for a conversion it kept;
 * - throttling: the webhook answers 503 + Retry-After, decide fails open, DependencyThrottled counts
 *   it;
 * - after the faults, Segment's retries converge on the graph of a fault-free run; no request
 *   outlives its timeout, no unhandled rejection.
 *
 * FAULT_PHASE_MS sets each fault's length (default 3 s). FAULT_REPORT=1 prints the figures.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { person, summarize } from '../../../bench/lib/traffic';
import { functionTimeoutMs } from '../../../src/platform/routes';
import { startTestApp, type TestApp } from '../../support/app';
import { faultFreeProfiles, profilesByUserId } from '../../support/convergence';
import { createTestTable, type TestTable } from '../../support/dynamodb';
import {
  FAULT_ADMIN_KEY,
  type FaultLoad,
  faultAppSettings,
  startFaultLoad,
  within,
} from '../../support/fault-load';
import {
  dynamoDbError,
  type FaultProxy,
  PASS,
  type ProxyMode,
  startFaultProxy,
} from '../../support/fault-proxy';
import { eventually, pause, watchUnhandledRejections } from '../../support/load';
import { type CapturedMetrics, captureMetrics } from '../../support/metrics';
import { startTestOptimizely, type TestOptimizely } from '../../support/optimizely';

jest.setTimeout(180_000);

const PHASE_MS = Number(process.env.FAULT_PHASE_MS ?? 3_000);
const run = `dg${randomUUID().slice(0, 6)}`;

const PHASES: { name: string; mode: ProxyMode }[] = [
  { name: 'latency', mode: { kind: 'latency', ms: 300 } },
  { name: 'reset', mode: { kind: 'reset' } },
  { name: 'blackhole', mode: { kind: 'blackhole' } },
  { name: 'throttling', mode: dynamoDbError('ThrottlingException') },
  { name: 'throughput', mode: dynamoDbError('ProvisionedThroughputExceededException') },
];

let table: TestTable | undefined;
let proxy: FaultProxy | undefined;
let optimizely: TestOptimizely | undefined;
let app: TestApp | undefined;
let metrics: CapturedMetrics | undefined;

beforeAll(async () => {
  metrics = captureMetrics();
  [table, optimizely] = await Promise.all([createTestTable('degraded'), startTestOptimizely()]);
  proxy = await startFaultProxy(process.env.DYNAMODB_ENDPOINT!);
  app = await startTestApp(
    faultAppSettings({
      DYNAMODB_ENDPOINT: proxy.url,
      TABLE_NAME: table.tableName,
      OPTIMIZELY_EVENT_ENDPOINT: optimizely.eventEndpoint,
    }),
    {},
    { streamEndpoint: process.env.DYNAMODB_ENDPOINT! },
  );
});

afterAll(async () => {
  await app?.close();
  await proxy?.close();
  await optimizely?.close();
  await table?.drop();
  metrics?.restore();
});

describe('DynamoDB slow, resetting, silent and throttling, one after the other, under load', () => {
  it('answers within every timeout, fails decide open, asks Segment to retry, and converges', async () => {
    const unhandled = watchUnhandledRejections();
    const windows: Record<string, { from: number; to: number }> = {};
    let override: { status: number; retryAfter: string | null } | undefined;
    let load: FaultLoad | undefined;
    try {
      // 18 known people; 4 decides and 1 track in flight; a Segment batch every 200 ms.
      load = await startFaultLoad({
        url: app!.url,
        run,
        people: 18,
        decides: 4,
        tracks: 1,
        batchEveryMs: 200,
        strangers: false,
      });
      const { sender, batches, userIds, decides, tracks } = load;

      await pause(1_000);
      for (const phase of PHASES) {
        const from = Date.now();
        proxy!.set(phase.mode);
        if (phase.name === 'throttling') {
          // A write keyed by the person never fails open: deciding who they are wrongly would
          // write someone else's state.
          const response = await fetch(`${app!.url}/v1/override`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': FAULT_ADMIN_KEY },
            body: JSON.stringify({
              userId: person(run, 0).userId,
              experimentKey: 'search_ranking_test',
              variationKey: 'treatment',
            }),
          });
          override = { status: response.status, retryAfter: response.headers.get('retry-after') };
        }
        await pause(PHASE_MS);
        // On a busy machine a phase of fixed length could pass without one decide or webhook call
        // both starting and ending inside it (nothing to assert on): it lasts until each has one.
        await eventually(
          () => {
            const inside = within({ from, to: Date.now() });
            return decides.some(inside) && sender.outcomes.some(inside);
          },
          30_000,
          100,
        );
        proxy!.set(PASS);
        windows[phase.name] = { from, to: Date.now() };
        // A breath between faults, so each phase's answers are its own.
        await pause(1_000);
      }
      await load.stop();
      await app!.server.idle();

      const inPhase = (name: string) => within(windows[name]!);
      const report: Record<string, unknown> = {};
      for (const phase of PHASES) {
        report[phase.name] = {
          webhook: summarize(sender.outcomes.filter(inPhase(phase.name))),
          decide: summarize(decides.filter(inPhase(phase.name))),
          decideFailedOpen: decides
            .filter(inPhase(phase.name))
            .filter((o) => o.identitySource === 'unavailable').length,
          track: summarize(tracks.filter(inPhase(phase.name))),
        };
      }

      // Everywhere: the webhook answers 200 or 503 + Retry-After, decide 200, track 200 (a
      // conversion that could not be stored is delivered before answering); all within timeouts.
      expect(new Set(sender.outcomes.map((o) => o.status))).toEqual(new Set([200, 503]));
      expect(sender.outcomes.filter((o) => o.status === 503 && o.retryAfter !== '1')).toEqual([]);
      expect(summarize(sender.outcomes).maxMs).toBeLessThan(functionTimeoutMs('segment-webhook'));
      expect(summarize(decides).byStatus).toEqual({ 200: decides.length });
      expect(summarize(decides).maxMs).toBeLessThan(functionTimeoutMs('agent-api'));
      expect(summarize(tracks).byStatus).toEqual({ 200: tracks.length });
      expect(summarize(tracks).maxMs).toBeLessThan(functionTimeoutMs('agent-api'));

      // Slow is not down: nothing failed open, nothing was refused.
      expect(sender.outcomes.filter(inPhase('latency')).filter((o) => o.status !== 200)).toEqual([]);
      expect(decides.filter(inPhase('latency')).filter((o) => o.identitySource === 'unavailable')).toEqual(
        [],
      );
      // Throttled: the webhook asks for a retry, decide answers on the request's identifiers.
      for (const name of ['throttling', 'throughput']) {
        const webhook = sender.outcomes.filter(inPhase(name));
        expect(webhook.length).toBeGreaterThan(0);
        expect(new Set(webhook.map((o) => o.status))).toEqual(new Set([503]));
        expect(new Set(decides.filter(inPhase(name)).map((o) => o.identitySource))).toEqual(
          new Set(['unavailable']),
        );
      }
      expect(override).toEqual({ status: 503, retryAfter: '1' });
      expect(proxy!.stats.answered).toBeGreaterThan(0);
      expect(metrics!.counts.DependencyThrottled).toBeGreaterThan(0);
      expect(metrics!.counts.DependencyTimeouts).toBeGreaterThan(0);
      expect(metrics!.counts.DecideFailedOpen).toBeGreaterThan(0);

      // Every batch was accepted in the end, and the graph is the fault-free one.
      expect(sender.finals.every((status) => status === 200)).toBe(true);
      const profiles = await profilesByUserId(app!.url, FAULT_ADMIN_KEY, userIds);
      expect(Object.values(profiles).filter((p) => p === null)).toEqual([]);
      expect(profiles).toEqual(await faultFreeProfiles(batches, userIds));
      expect(unhandled.rejections).toEqual([]);

      if (process.env.FAULT_REPORT) {
        process.stderr.write(
          `${JSON.stringify({ fault: 'dynamodb-degraded', phases: report, retries: sender.retries, batches: batches.length, metrics: metrics!.counts })}\n`,
        );
      }
    } finally {
      proxy!.set(PASS);
      await load?.halt();
      unhandled.stop();
    }
  });
});
