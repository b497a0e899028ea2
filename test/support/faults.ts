/**
 * Transient DynamoDB faults on demand: a client whose requests fail at a given rate the way DynamoDB
 * fails under throttling (a 400 ThrottlingException, retryable) before they reach DynamoDB Local.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../../functions/storage/dynamodb-client';

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
