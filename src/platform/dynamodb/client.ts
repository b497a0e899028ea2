/**
 * The DynamoDB client each entry point builds once per container. An endpoint points it at DynamoDB
 * Local (npm start, tests, bench); in Lambda the SDK's default chain applies.
 *
 * Every request is bounded: a connection must open within CONNECTION_TIMEOUT_MS and an attempt
 * answer within REQUEST_TIMEOUT_MS (the SDK's defaults wait forever on a hung connection), at most
 * MAX_ATTEMPTS attempts, and never past the request's deadline (platform/core/deadline.ts): a call still
 * waiting then fails as DependencyUnavailableError, so a handler answers 503 (or decide fails open)
 * before Lambda's timeout instead of being killed by it.
 *
 * Every client counts the requests it sends into the current `countDynamoDbRequests` scope, so the
 * webhook can report requests per batch and tests and the bench can assert requests per decide,
 * with concurrent requests of the local server kept apart (the counter rides in the request's one
 * scope, core/request-scope.ts).
 */
import { DynamoDBClient, type ServiceInputTypes, type ServiceOutputTypes } from '@aws-sdk/client-dynamodb';
import { beforeDeadline, timeLeft } from '../core/deadline';
import { DependencyUnavailableError, isTransient } from '../core/errors';
import { requestScope, withinScope } from '../core/request-scope';

/** Bounds of one attempt; DynamoDB answers in milliseconds, so these only ever cut a fault short. */
export const DYNAMODB_TIMEOUTS = { connectionTimeoutMs: 1_000, requestTimeoutMs: 2_000, maxAttempts: 3 };

interface CountScope {
  requests: number;
  /** The enclosing scope: a request counts in every scope it runs in (a bench around a handler). */
  parent: CountScope | undefined;
}

declare module '../core/request-scope' {
  interface RequestScope {
    /** The innermost `countDynamoDbRequests` counter of this part of the request. */
    readonly dynamoDbCount?: CountScope;
  }
}

/** Runs `fn` and counts the DynamoDB requests it sends (through any client built here). */
export async function countDynamoDbRequests<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; requests: number }> {
  const scope: CountScope = { requests: 0, parent: requestScope().dynamoDbCount };
  const result = await withinScope({ dynamoDbCount: scope }, fn);
  return { result, requests: scope.requests };
}

/** DynamoDB requests counted so far in the innermost `countDynamoDbRequests` scope (0 outside one). */
export function dynamoDbRequestsSoFar(): number {
  return requestScope().dynamoDbCount?.requests ?? 0;
}

/** Clients an entry's dependencies may be given instead of building their own (tests inject faults). */
export interface DependencyClients {
  dynamoDb?: DynamoDBClient;
}

export function createDynamoDbClient(
  options: { endpoint?: string | undefined; region?: string } = {},
): DynamoDBClient {
  const bounded = {
    maxAttempts: DYNAMODB_TIMEOUTS.maxAttempts,
    requestHandler: {
      connectionTimeout: DYNAMODB_TIMEOUTS.connectionTimeoutMs,
      requestTimeout: DYNAMODB_TIMEOUTS.requestTimeoutMs,
      // Without it the SDK only logs a warning when the timeout passes, and keeps waiting.
      throwOnRequestTimeout: true,
    },
  };
  const client = options.endpoint
    ? new DynamoDBClient({
        ...bounded,
        endpoint: options.endpoint,
        region: options.region ?? 'local',
        // DynamoDB Local accepts any credentials; fixed ones keep every local process on one database.
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      })
    : new DynamoDBClient(bounded);
  client.middlewareStack.add(
    (next) => (args) => {
      for (let scope = requestScope().dynamoDbCount; scope; scope = scope.parent) scope.requests++;
      return next(args);
    },
    { step: 'initialize', name: 'crosswalkRequestCounter' },
  );
  client.middlewareStack.add(
    (next) => (args) => {
      // Retries included: the whole call gives up at the request's deadline.
      if (timeLeft() === 0) return Promise.reject(pastDeadline());
      return beforeDeadline(next(args), pastDeadline);
    },
    { step: 'initialize', name: 'crosswalkDeadline' },
  );
  return client;
}

function pastDeadline(): DependencyUnavailableError {
  return new DependencyUnavailableError('DynamoDB did not answer before the request deadline', {
    cause: Object.assign(new Error('deadline reached'), { name: 'TimeoutError' }),
  });
}

declare const aClient: DynamoDBClient;
/** A command of the DynamoDB client, with its input and output types (what `client.send` takes). */
export type DynamoDbCommand<I extends ServiceInputTypes, O extends ServiceOutputTypes> = Parameters<
  typeof aClient.send<I, O>
>[0];

/**
 * Sends one command for a store adapter: a fault a retry may fix (throttling, network, 5xx) becomes a
 * DependencyUnavailableError (a 503); anything else, a cancelled transaction included (its reasons
 * are the caller's to read), is thrown as it is. The answer has the command's own output type.
 */
export async function sendCommand<I extends ServiceInputTypes, O extends ServiceOutputTypes>(
  client: DynamoDBClient,
  command: DynamoDbCommand<I, O>,
): Promise<O>;
export async function sendCommand(client: DynamoDBClient, command: { input: unknown }): Promise<unknown> {
  try {
    return await client.send(command as DynamoDbCommand<ServiceInputTypes, ServiceOutputTypes>);
  } catch (error) {
    if ((error as Error).name !== 'TransactionCanceledException' && isTransient(error)) {
      throw new DependencyUnavailableError('DynamoDB is unavailable or throttling', { cause: error });
    }
    throw error;
  }
}
