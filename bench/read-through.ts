/**
 * The Profile API read-through (docs/profile-api.md) against the local stand-in, answering at once
 * on loopback: what a first decide for a person known only to Segment adds over a decide for someone
 * nobody knows (the same request without read-through), at p50 and p99; the Profile API calls of the
 * first and second decide; the DynamoDB requests a miss now costs. Segment's own latency (p95
 * < 200 ms per call, two calls in sequence at least) comes on top in production, within
 * PROFILE_API_TIMEOUT_MS.
 */

import { agentApiDependencies } from '../functions/agent-api/dependencies';
import { createAgentApiHandler } from '../functions/agent-api/handler';
import { startLocalProfileApi } from '../scripts/local/local-profile-api';
import type { Config } from '../src/platform/config/env';
import { countDynamoDbRequests } from '../src/platform/dynamodb/client';
import { BENCH_PROFILE_API_TOKEN, BENCH_SPACE } from './fake-profile-api';
import { type HttpHandler, invoke, prepareCall } from './lib/harness';
import type { Report } from './lib/report';
import { percentile } from './lib/stats';

const PEOPLE = 400;

export async function benchReadThrough(options: {
  config: Config;
  sdkKey: string;
  flagKey: string;
  apiKey: string;
  report: Report;
}): Promise<void> {
  const createdAt = '2026-11-01T00:00:00.000Z';
  const people = Array.from({ length: PEOPLE }, (_, i) => ({
    anon: `segment-only-anon-${i}`,
    user: `segment-only-${i}`,
    account: `segment-only-acct-${i % 20}`,
  }));
  const segment = await startLocalProfileApi({
    token: BENCH_PROFILE_API_TOKEN,
    spaceId: BENCH_SPACE,
    maxPerSecond: Number.POSITIVE_INFINITY,
    people: people.map((p) => ({
      externalIds: [
        { type: 'anonymous_id', id: p.anon, createdAt },
        { type: 'user_id', id: p.user, createdAt: '2026-11-02T00:00:00.000Z' },
      ],
      traits: { plan: 'pro', country: 'DE', lifetime_value: 120 },
      accounts: [{ id: p.account, createdAt }],
    })),
    accounts: Object.fromEntries(people.map((p) => [p.account, { plan: 'enterprise', seats: 40 }])),
  });
  try {
    const withReadThrough = createAgentApiHandler(
      agentApiDependencies({
        ...options.config,
        SEGMENT_PROFILE_API_URL: segment.url,
        SEGMENT_SPACE_ID: BENCH_SPACE,
        SEGMENT_PROFILE_API_TOKEN: BENCH_PROFILE_API_TOKEN,
        // The stand-in answers at once; the bench must never stop at the budget.
        PROFILE_API_TIMEOUT_MS: 5_000,
        PROFILE_API_MAX_RPS: 1_000,
      }),
    ) as HttpHandler;
    const without = createAgentApiHandler(agentApiDependencies(options.config)) as HttpHandler;
    const call = (anon: string) =>
      prepareCall({
        functionName: 'agent-api',
        routeKey: 'POST /v1/decide',
        url: `/v1/decide?keys=${options.flagKey}`,
        headers: { 'x-api-key': options.apiKey, 'x-optimizely-sdk-key': options.sdkKey },
        body: JSON.stringify({
          identifiers: { anonymous_id: anon },
          decideOptions: ['DISABLE_DECISION_EVENT'],
        }),
      });
    // Warm both containers (datafile, clients, connections) on people outside the measured set.
    for (let i = 0; i < 20; i++) {
      await invoke(without, call(`nobody-warmup-${i}`));
      await invoke(withReadThrough, call(`nobody-warmup-rt-${i}`));
    }
    const measuredFrom = segment.api.calls.length;
    const learned: number[] = [];
    const unknown: number[] = [];
    const firstCalls: number[] = [];
    const secondCalls: number[] = [];
    const missRequests: number[] = [];
    for (const [i, p] of people.entries()) {
      const first = call(p.anon);
      const before = segment.api.calls.length;
      const started = performance.now();
      const { requests } = await countDynamoDbRequests(() => invoke(withReadThrough, first));
      learned.push(performance.now() - started);
      firstCalls.push(segment.api.calls.length - before);
      missRequests.push(requests);
      const again = segment.api.calls.length;
      await invoke(withReadThrough, call(p.anon));
      secondCalls.push(segment.api.calls.length - again);
      const nobody = call(`nobody-${i}`);
      const plain = performance.now();
      await invoke(without, nobody);
      unknown.push(performance.now() - plain);
    }
    const refused = segment.api.calls.slice(measuredFrom).filter((c) => c.status !== 200);
    if (refused.length > 0)
      throw new Error(`the stand-in refused ${refused.length} bench call(s): ${JSON.stringify(refused[0])}`);
    const max = (xs: number[]) => Math.max(...xs);
    for (const p of [50, 99]) {
      options.report.add(`profile_api_added_latency_p${p}_ms`, {
        value: percentile(learned, p) - percentile(unknown, p),
        unit: 'ms',
        target: `reported: first decide of a Segment-only person minus a decide of an unknown one (p${p} ${percentile(learned, p).toFixed(2)} vs ${percentile(unknown, p).toFixed(2)} ms; loopback stand-in)`,
      });
    }
    options.report.add('profile_api_calls_first_decide', {
      value: max(firstCalls),
      unit: 'calls',
      target: '4 at most: external_ids, traits ∥ links → account traits',
      check: (f) => f.value <= 4 && Math.min(...firstCalls) >= 1,
    });
    options.report.add('profile_api_calls_second_decide', {
      value: max(secondCalls),
      unit: 'calls',
      target: '0',
      check: (f) => f.value === 0,
    });
    options.report.add('profile_api_miss_dynamodb_requests', {
      value: percentile(missRequests, 50),
      unit: 'requests',
      target: `reported (max ${max(missRequests)}): the decide's read, then tombstones, limiter ×2, ingest, read-back`,
    });
  } finally {
    await segment.close();
  }
}
