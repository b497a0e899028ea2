/**
 * Optimizely Agent's POST /v1/batch: many operations in one request, each served by this function's
 * own operations (same validation, same answers) as the authenticated caller of the batch. Like
 * Agent, an operation sees only its own headers (an SDK key is not inherited from the batch) and
 * its status is reported per item; the batch itself answers 200. Agent reads each operation's body
 * back into a Go map, so an item's body has its keys sorted at every depth.
 *
 * Agent's limit on operations stays (BATCH_OPERATIONS_LIMIT); what one batch can cost is bounded
 * besides (docs/operations.md#what-one-request-can-cost): the identifiers its operations name
 * (checked before anything runs, a 422 like Agent's), and the DynamoDB requests and Optimizely
 * events it causes: once either budget is spent, the operations not started yet answer 422 each.
 * Time is a budget too: operations not started when less than BATCH_TIME_RESERVE_MS of the
 * request's deadline remains answer 503, so those running can finish and the batch's events can
 * still be sent (or stored) before the invocation ends.
 */
import { randomUUID } from 'node:crypto';
import { timeLeft } from '../../../src/platform/core/deadline';
import {
  DependencyUnavailableError,
  InvalidRequestError,
  LimitExceededError,
} from '../../../src/platform/core/errors';
import { goValue } from '../../../src/platform/core/go-json';
import { pool } from '../../../src/platform/core/pool';
import type * as z from '../../../src/platform/core/zod';
import { countDynamoDbRequests, dynamoDbRequestsSoFar } from '../../../src/platform/dynamodb/client';
import type { HttpEvent, HttpResult } from '../../../src/platform/http/api-gateway';
import { json } from '../../../src/platform/http/api-gateway';
import type { Caller } from '../../../src/platform/http/auth';
import { errorAnswer } from '../../../src/platform/http/error-response';
import type { Operation } from '../../../src/platform/http/operations';
import type { Observability } from '../../../src/platform/observability/logger';
import { type AgentOperation, type BatchLimits, parseBody } from '../request';
import { batchBodySchema } from '../schema';

type BatchBody = z.infer<typeof batchBodySchema>;

export interface BatchItem {
  status: number;
  requestID: string;
  operationID: string;
  method: string;
  url: string;
  body: unknown;
  startedAt: string;
  endedAt: string;
}

export interface BatchAnswer {
  startedAt: string;
  endedAt: string;
  errorCount: number;
  response: BatchItem[];
}

const BATCH_PATH = '/v1/batch';

/** Time kept, when the request has a deadline, for the operations running and the events' flush. */
export const BATCH_TIME_RESERVE_MS = 4_000;

/** The API Gateway event an operation would have arrived as. */
function operationEvent(
  parent: HttpEvent,
  op: BatchBody['operations'][number],
  requestId: string,
): HttpEvent {
  const url = new URL(op.url, 'http://batch.invalid');
  for (const [name, value] of Object.entries(op.params)) url.searchParams.append(name, value);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(op.headers)) headers[name.toLowerCase()] = value;
  headers['x-request-id'] = requestId;
  const rawQueryString = url.search.replace(/^\?/, '');
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams)
    query[name] = name in query ? `${query[name]},${value}` : value;
  return {
    ...parent,
    routeKey: `${op.method} ${url.pathname}`,
    rawPath: url.pathname,
    rawQueryString,
    headers,
    ...(rawQueryString ? { queryStringParameters: query } : { queryStringParameters: undefined }),
    requestContext: {
      ...parent.requestContext,
      http: { ...parent.requestContext.http, method: op.method, path: url.pathname },
    },
    // Agent marshals the operation's body as JSON; an absent body arrives as `null`.
    body: JSON.stringify(op.body ?? null),
    isBase64Encoded: false,
  };
}

function parsedBody(result: HttpResult): unknown {
  if (typeof result.body !== 'string' || result.body === '') return null;
  try {
    return goValue(JSON.parse(result.body));
  } catch {
    return null;
  }
}

/** Identifiers an operation's body names: its userId and each entry of Crosswalk's `identifiers`. */
function identifiersNamed(body: unknown): number {
  if (typeof body !== 'object' || body === null) return 0;
  const { userId, identifiers } = body as { userId?: unknown; identifiers?: unknown };
  const user = typeof userId === 'string' && userId.trim() !== '' ? 1 : 0;
  const others =
    typeof identifiers === 'object' && identifiers !== null && !Array.isArray(identifiers)
      ? Object.keys(identifiers).length
      : 0;
  return user + others;
}

/** Optimizely events an answered operation stands for: one per decision, one per tracked conversion. */
function eventsOf(path: string, result: HttpResult, body: unknown): number {
  if (result.statusCode !== undefined && result.statusCode !== 200) return 0;
  if (path === '/v1/track') return (body as { error?: unknown } | null)?.error ? 0 : 1;
  if (path === '/v1/decide' || path === '/v1/activate')
    return Array.isArray(body) ? body.length : body ? 1 : 0;
  return 0;
}

export async function runBatch<A>(
  event: HttpEvent,
  body: BatchBody,
  arg: A,
  serve: Operation<A>,
  limits: BatchLimits,
  { logger, metrics }: Observability,
): Promise<BatchAnswer> {
  if (body.operations.length > limits.maxOperations) {
    throw new LimitExceededError(`too many operations, exceeding ${limits.maxOperations} operations`, {
      detail: `${body.operations.length} operations sent; BATCH_OPERATIONS_LIMIT is ${limits.maxOperations}`,
    });
  }
  const identifiers = body.operations.reduce((sum, op) => sum + identifiersNamed(op.body), 0);
  if (identifiers > limits.maxIdentifiers) {
    throw new LimitExceededError(`too many identifiers, exceeding ${limits.maxIdentifiers} identifiers`, {
      detail: `the operations name ${identifiers} identifiers; BATCH_MAX_IDENTIFIERS is ${limits.maxIdentifiers}`,
    });
  }
  const startedAt = new Date().toISOString();
  let events = 0;
  let refused = 0;
  /** Why no further operation may start, or undefined while both budgets last. */
  const spent = (): string | undefined => {
    const requests = dynamoDbRequestsSoFar();
    if (requests >= limits.maxDynamoDbRequests)
      return `${requests} DynamoDB requests (BATCH_MAX_DYNAMODB_REQUESTS is ${limits.maxDynamoDbRequests})`;
    if (events >= limits.maxEvents)
      return `${events} Optimizely events (BATCH_MAX_EVENTS is ${limits.maxEvents})`;
    return undefined;
  };
  const { result: items, requests } = await countDynamoDbRequests(() =>
    pool(body.operations, limits.maxConcurrency, async (op): Promise<BatchItem> => {
      const requestID =
        Object.entries(op.headers).find(([name]) => name.toLowerCase() === 'x-request-id')?.[1] ??
        randomUUID();
      const opStarted = new Date().toISOString();
      let result: HttpResult;
      let path = '';
      try {
        const sub = operationEvent(event, op, requestID);
        path = sub.rawPath;
        if (sub.rawPath === BATCH_PATH) throw new InvalidRequestError('a batch operation cannot be a batch');
        const why = spent();
        if (why) {
          refused++;
          throw new LimitExceededError(
            `the batch has spent its budget: ${why}; send the remaining operations in another batch`,
          );
        }
        if (timeLeft(BATCH_TIME_RESERVE_MS) === 0) {
          refused++;
          throw new DependencyUnavailableError('The batch ran out of time before this operation started');
        }
        result = await serve(sub, arg);
      } catch (error) {
        const answer = errorAnswer(error);
        if (answer.log) logger.error('batch operation failed', { error, operationID: op.operationID });
        result = { statusCode: answer.statusCode, body: JSON.stringify(answer.body) };
      }
      const answered = parsedBody(result);
      events += eventsOf(path, result, answered);
      return {
        status: result.statusCode ?? 200,
        requestID,
        operationID: op.operationID,
        method: op.method,
        url: op.url,
        body: answered,
        startedAt: opStarted,
        endedAt: new Date().toISOString(),
      };
    }),
  );
  const errorCount = items.filter((item) => item.status !== 200).length;
  metrics.metric('BatchOperations', items.length);
  metrics.metric('BatchDynamoDbRequests', requests);
  metrics.metric('BatchEvents', events);
  if (refused > 0) {
    logger.warn('batch budget spent: operations refused', {
      refused,
      operations: items.length,
      requests,
      events,
    });
  }
  return { startedAt, endedAt: new Date().toISOString(), errorCount, response: items };
}

/** The batch operation: its body read under the batch's own size cap, its events delivered together. */
export const batch: AgentOperation = async (api, event, caller) => {
  const { limits, decisions } = api.deps;
  let body: BatchBody;
  try {
    body = parseBody(api, batchBodySchema, event, {
      limit: [limits.maxBatchBodyBytes, 'BATCH_MAX_BODY_BYTES'],
    });
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    throw new InvalidRequestError('cannot decode the operation body', { detail: error.message });
  }
  // One delivery for the whole batch: its operations' events leave together, merged.
  const answer = await decisions.events.gathered(() =>
    runBatch<Caller>(event, body, caller, api.serve, api.deps.batch, decisions.observability),
  );
  return json(200, answer);
};
