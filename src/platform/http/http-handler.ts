/**
 * The one wrapper every HTTP function uses: lowercase header names, the request's log context
 * (request id, trace id, route, cold start) on every line it logs, the handler, and the error table
 * (error-response.ts) last. Unknown errors are logged, never echoed. A function that defers work
 * past its response (platform/lambda/after-response.ts) passes its after-response too: every invocation then
 * reports `finished` once the answer is ready, whatever it is, so the extension can flush and let
 * the invocation end.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { requestScope, withinScope } from '../core/request-scope';
import type { AfterResponse } from '../lambda/after-response';
import { countFault } from '../observability/faults';
import type { Observability } from '../observability/logger';
import type { HttpEvent, HttpResult } from './api-gateway';
import { json } from './api-gateway';
import { errorAnswer } from './error-response';

export type HttpHandlerFn = (event: HttpEvent, context: Context) => Promise<HttpResult>;
export type LambdaHttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

/**
 * API Gateway's HTTP API (payload 2.0) already lowercases header names; hand-written events
 * (`npm run invoke`, `sam local invoke`) may not. Rebuilds the map only when a name needs it.
 */
// Upper-case ASCII, or anything outside printable ASCII (which toLowerCase may change too).
const UPPER_CASE = /[A-Z]|[^ -~]/;
const lowercaseHeaders = {
  before: (request: middy.Request<HttpEvent, HttpResult>) => {
    const headers = request.event.headers;
    if (!headers) return;
    for (const name in headers) {
      if (UPPER_CASE.test(name)) {
        const lowered: Record<string, string | undefined> = {};
        for (const [key, value] of Object.entries(headers)) lowered[key.toLowerCase()] = value;
        request.event.headers = lowered;
        return;
      }
    }
  },
};

/**
 * Time kept between the request's deadline (when outbound calls give up) and Lambda's timeout, to
 * answer the 503 and let the after-response extension let go.
 */
export const DEADLINE_MARGIN_MS = 1_000;

/** The wrapped handler's answer, naming its request. */
async function answer(wrapped: LambdaHttpHandler, event: HttpEvent, context: Context, requestId: string) {
  const result = await wrapped(event, context);
  result.headers = { ...result.headers, 'x-request-id': requestId };
  return result;
}

export function httpHandler(
  fn: HttpHandlerFn,
  { logger, metrics }: Observability,
  afterResponse?: Pick<AfterResponse, 'finished'>,
): LambdaHttpHandler {
  const errorResponder = {
    onError: async (request: middy.Request<HttpEvent, HttpResult>) => {
      const answer = errorAnswer(request.error);
      const fault = answer.statusCode === 503 ? { fault: countFault(metrics, request.error) } : {};
      if (answer.log)
        logger.error('request failed', { error: request.error, status: answer.statusCode, ...fault });
      request.response = json(answer.statusCode, answer.body, answer.headers);
    },
  };
  // No middy early timeout (a timer and a race per request): the request's deadline (below) already
  // makes every outbound call give up DEADLINE_MARGIN_MS before Lambda's timeout.
  const wrapped = middy<HttpEvent, HttpResult>({ timeoutEarlyInMillis: 0 })
    .use(lowercaseHeaders)
    .use(errorResponder)
    .handler(fn);
  let invocations = 0;
  const run: LambdaHttpHandler = (event, context) => {
    // Every answer names its request, as Optimizely Agent's do: the caller's X-Request-Id when it
    // sent a sensible one, else the Lambda request id (which the logs carry too).
    const sent = event.headers?.['x-request-id'] ?? event.headers?.['X-Request-Id'];
    const requestId = sent && /^[\x21-\x7e][\x20-\x7e]{0,127}$/.test(sent) ? sent : context.awsRequestId;
    // One scope for the request: its log context, and the deadline by which every outbound call of
    // the request (and of work it defers past its answer) gives up, as Lambda's timeout would end the
    // invocation without an answer. (A hand-made context without the method has no deadline.)
    const log = {
      requestId: context.awsRequestId,
      // The trace id is read when a line is written (logger.ts): process.env is slow to read.
      route: event.routeKey,
      coldStart: invocations++ === 0,
    };
    if (typeof context.getRemainingTimeInMillis !== 'function')
      return withinScope({ log }, answer, wrapped, event, context, requestId);
    const at = Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS;
    const outer = requestScope().deadline;
    const deadline = outer === undefined ? at : Math.min(outer, at);
    return withinScope({ log, deadline }, answer, wrapped, event, context, requestId);
  };
  if (!afterResponse) return run;
  return async (event, context) => {
    try {
      return await run(event, context);
    } finally {
      // Also when something threw past the error table: the extension must never wait for nothing.
      afterResponse.finished(context.awsRequestId);
    }
  };
}
