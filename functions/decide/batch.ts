/**
 * Optimizely Agent's POST /v1/batch: many operations in one request, each served by this function's
 * own operations (same validation, same answers) as the authenticated caller of the batch. Like
 * Agent, an operation sees only its own headers (an SDK key is not inherited from the batch) and
 * its status is reported per item; the batch itself answers 200. Agent reads each operation's body
 * back into a Go map, so an item's body has its keys sorted at every depth.
 */
import { randomUUID } from 'node:crypto';
import { InvalidRequestError, LimitExceededError } from '../core/errors';
import { goValue } from '../core/go-json';
import type * as z from '../core/zod';
import type { HttpEvent, HttpResult } from '../http/api-gateway';
import { errorAnswer } from '../http/error-response';
import type { Operation } from '../http/operations';
import type { Observability } from '../observability/logger';
import type { batchBodySchema } from './schema';

export interface BatchLimits {
  /** More operations than this: 422, as Agent's `operationsLimit` (BATCH_OPERATIONS_LIMIT). */
  maxOperations: number;
  /** Operations running at once (BATCH_MAX_CONCURRENCY). */
  maxConcurrency: number;
}

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

/** Runs `tasks` with at most `limit` at a time; results in task order. */
async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await (tasks[index] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
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
  const startedAt = new Date().toISOString();
  const items = await pool(
    body.operations.map((op) => async (): Promise<BatchItem> => {
      const requestID =
        Object.entries(op.headers).find(([name]) => name.toLowerCase() === 'x-request-id')?.[1] ??
        randomUUID();
      const opStarted = new Date().toISOString();
      let result: HttpResult;
      try {
        const sub = operationEvent(event, op, requestID);
        if (sub.rawPath === BATCH_PATH) throw new InvalidRequestError('a batch operation cannot be a batch');
        result = await serve(sub, arg);
      } catch (error) {
        const answer = errorAnswer(error);
        if (answer.log) logger.error('batch operation failed', { error, operationID: op.operationID });
        result = { statusCode: answer.statusCode, body: JSON.stringify(answer.body) };
      }
      return {
        status: result.statusCode ?? 200,
        requestID,
        operationID: op.operationID,
        method: op.method,
        url: op.url,
        body: parsedBody(result),
        startedAt: opStarted,
        endedAt: new Date().toISOString(),
      };
    }),
    limits.maxConcurrency,
  );
  const errorCount = items.filter((item) => item.status !== 200).length;
  metrics.metric('BatchOperations', items.length);
  return { startedAt, endedAt: new Date().toISOString(), errorCount, response: items };
}
