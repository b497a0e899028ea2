/**
 * DynamoDB faults on demand: a client whose requests fail at a given rate the way DynamoDB fails
 * under throttling (a 400 ThrottlingException, retryable) before they reach DynamoDB Local; and a
 * DynamoDB Local of a test's own that can be killed and restarted on its data. Network faults
 * (latency, resets, a black hole, throttling answers) are fault-proxy.ts's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDbLocal, freePort, startDynamoDbLocal } from '../../scripts/local/dynamodb-local';
import { createDynamoDbClient } from '../../src/platform/dynamodb/client';

export interface FaultyClient {
  client: DynamoDBClient;
  /** Share of requests that fail (0 to 1); change it between steps of a test. */
  rate: number;
  failures: number;
}

export function faultyDynamoDbClient(rate: number, random: () => number = Math.random): FaultyClient {
  const client = createDynamoDbClient({ endpoint: process.env.DYNAMODB_ENDPOINT });
  const faulty: FaultyClient = { client, rate, failures: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      if (random() < faulty.rate) {
        faulty.failures++;
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
          name: 'ThrottlingException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          $retryable: { throttling: true },
        });
      }
      return next(args);
    },
    // Before the SDK's own retries: each injected fault reaches Crosswalk, as an exhausted retry would.
    { step: 'initialize', name: 'crosswalkFaultInjection' },
  );
  return faulty;
}

/**
 * A DynamoDB Local of a test's own, file-backed, that can be killed (SIGKILL, as a crash) and
 * started again on the same port and the same data: clients built before the kill reconnect to it.
 */
export interface RestartableDynamoDb {
  endpoint: string;
  /** Kills the process at once; requests fail (connection refused) until `restart`. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it answers. */
  restart(): Promise<void>;
  /** Stops it and deletes its data. */
  close(): Promise<void>;
}

export async function startRestartableDynamoDb(): Promise<RestartableDynamoDb> {
  const dbPath = await mkdtemp(join(tmpdir(), 'crosswalk-dynamodb-'));
  const port = await freePort();
  let local: DynamoDbLocal | undefined = await startDynamoDbLocal({ dbPath, port });
  return {
    endpoint: local.endpoint,
    kill: async () => {
      await local?.kill();
      local = undefined;
    },
    restart: async () => {
      if (local) throw new Error('DynamoDB Local is running; kill it first');
      local = await startDynamoDbLocal({ dbPath, port });
    },
    close: async () => {
      await local?.stop();
      local = undefined;
      await rm(dbPath, { recursive: true, force: true });
    },
  };
}
