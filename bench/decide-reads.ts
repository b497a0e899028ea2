/**
 * Decide's reads under `npm start`'s defaults (overrides and the user profile service on): how many
 * round trips of latency a decide waits for when the person is not in the container's caches, with
 * DynamoDB Local behind a loopback proxy that delays every request (test/support/fault-proxy.ts);
 * and how many DynamoDB requests the profile service costs a returning person's decide.
 *
 * - `decide_miss_round_trips_<caller>`: median decide latency ÷ the median latency of one `GetItem`
 *   through the same proxy, for people this container has never decided (their account's traits
 *   not held either, unless a person of the same account came first), by how the caller names them.
 * - `decide_expired_round_trips`: the same for people it decided before, once its identity and
 *   profile caches have expired (cleared here); account traits held.
 * - `decide_profile_dynamodb_requests_returning`: requests per warm decide of a returning person.
 */
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { agentApiDependencies } from '../functions/agent-api/dependencies';
import { createAgentApiHandler } from '../functions/agent-api/handler';
import type { ProfileBook } from '../src/agent/profiles';
import type { CachedIdentityReader } from '../src/identity/cache';
import { identifierItemKey } from '../src/identity/dynamodb/keys';
import { loadConfig } from '../src/platform/config/env';
import { countDynamoDbRequests, createDynamoDbClient } from '../src/platform/dynamodb/client';
import { startFaultProxy } from '../test/support/fault-proxy';
import type { BenchPerson } from './fixtures/segment-events';
import { type HttpHandler, invoke, prepareCall } from './lib/harness';
import type { Report } from './lib/report';
import { median } from './lib/stats';

const DELAY_MS = 40;

export async function benchDecideReads(options: {
  env: Record<string, string>;
  dynamoEndpoint: string;
  tableName: string;
  people: readonly BenchPerson[];
  flagKey: string;
  apiKey: string;
  report: Report;
}): Promise<void> {
  const { report, people } = options;
  const proxy = await startFaultProxy(options.dynamoEndpoint);
  try {
    const container = () => {
      const deps = agentApiDependencies(
        loadConfig({
          ...process.env,
          ...options.env,
          DYNAMODB_ENDPOINT: proxy.url,
          ENABLE_OVERRIDES: 'true',
          USER_PROFILE_SERVICE: 'dynamodb',
        }),
      );
      return {
        handler: createAgentApiHandler(deps) as HttpHandler,
        identities: deps.decisions.identities as CachedIdentityReader,
        profiles: deps.decisions.agentState.profiles?.store as ProfileBook,
      };
    };
    const call = (person: BenchPerson, kind: 'anonymous_id' | 'user_id' | 'email') =>
      prepareCall({
        functionName: 'decide',
        routeKey: 'POST /v1/decide',
        url: `/v1/decide?keys=${options.flagKey}`,
        headers: { 'x-api-key': options.apiKey },
        body: JSON.stringify({
          identifiers:
            kind === 'anonymous_id'
              ? { anonymous_id: person.anonymousIds[0] }
              : kind === 'user_id'
                ? { user_id: person.userId }
                : { email: person.email },
          userAttributes: { platform: 'web' },
          decideOptions: ['DISABLE_DECISION_EVENT'],
        }),
      });
    const timed = async (fn: () => Promise<unknown>) => {
      const start = performance.now();
      await fn();
      return performance.now() - start;
    };

    // Returning people, warm: what the profile service costs in requests.
    const warm = container();
    const returning = people.slice(0, 50);
    for (const p of returning) await invoke(warm.handler, call(p, 'anonymous_id'));
    const counted = await countDynamoDbRequests(async () => {
      for (const p of returning) await invoke(warm.handler, call(p, 'anonymous_id'));
    });
    report.add('decide_profile_dynamodb_requests_returning', {
      value: counted.requests / returning.length,
      unit: 'requests',
      target: '0 (profile service and overrides on; returning person, warm container)',
      check: (x) => x.value === 0,
    });

    proxy.set({ kind: 'latency', ms: DELAY_MS });
    const client: DynamoDBClient = createDynamoDbClient({ endpoint: proxy.url });
    const key = identifierItemKey({ type: 'user_id', value: people[0]!.userId });
    const getItem = () =>
      client.send(
        new GetItemCommand({ TableName: options.tableName, Key: { pk: { S: key.pk }, sk: { S: key.sk } } }),
      );
    await getItem();
    const trips: number[] = [];
    for (let i = 0; i < 15; i++) trips.push(await timed(getItem));
    const roundTrip = median(trips);

    let offset = 100;
    for (const kind of ['anonymous_id', 'user_id', 'email'] as const) {
      const fresh = container();
      // The project (datafile, overrides list) loads on the container's first decide.
      await invoke(fresh.handler, call(people[1]!, kind));
      const sampled = people.slice(offset, offset + 15);
      offset += 15;
      const latencies: number[] = [];
      let requests = 0;
      for (const p of sampled) {
        const counting = await countDynamoDbRequests(async () => {
          latencies.push(await timed(() => invoke(fresh.handler, call(p, kind))));
        });
        requests += counting.requests;
      }
      report.add(`decide_miss_round_trips_${kind}`, {
        value: median(latencies),
        unit: 'ms',
        floor: roundTrip,
        target: `ratio ≤ 1.2 (${DELAY_MS} ms added per DynamoDB request; ${(requests / sampled.length).toFixed(1)} requests per decide)`,
        check: (x) => (x.ratio ?? Infinity) <= 1.2,
      });
    }

    // The same people again once the container's identity and profile caches have expired.
    const again = container();
    // People none of the rounds above decided (after them, or from the start of a small graph).
    const known = people.length >= offset + 15 ? people.slice(offset, offset + 15) : people.slice(2, 17);
    for (const p of known) await invoke(again.handler, call(p, 'user_id'));
    again.identities.clear();
    again.profiles.clear();
    const latencies: number[] = [];
    for (const p of known) latencies.push(await timed(() => invoke(again.handler, call(p, 'user_id'))));
    report.add('decide_expired_round_trips', {
      value: median(latencies),
      unit: 'ms',
      floor: roundTrip,
      target: 'ratio ≤ 1.2 (returning person by user id, identity and profile caches expired)',
      check: (x) => (x.ratio ?? Infinity) <= 1.2,
    });
  } finally {
    await proxy.close();
  }
}
