/**
 * The one middy stack every HTTP function uses: lowercase header names first, then the handler,
 * with typed errors mapped to responses last. Unknown errors are logged, never echoed.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger } from '../observability/logger';
import type { HttpEvent, HttpResult } from './api-gateway';
import { json } from './api-gateway';
import { errorToResponse } from './errors';

export type HttpHandlerFn = (event: HttpEvent, context: Context) => Promise<HttpResult>;

/**
 * API Gateway's HTTP API (payload 2.0) already lowercases header names; hand-written events
 * (`npm run invoke`, `sam local invoke`) may not. Rebuilds the map only when a name needs it.
 */
const lowercaseHeaders = {
  before: (request: middy.Request<HttpEvent, HttpResult>) => {
    const headers = request.event.headers;
    if (!headers) return;
    for (const name in headers) {
      if (name !== name.toLowerCase()) {
        const lowered: Record<string, string | undefined> = {};
        for (const [key, value] of Object.entries(headers)) lowered[key.toLowerCase()] = value;
        request.event.headers = lowered;
        return;
      }
    }
  },
};

const errorResponder = {
  onError: async (request: middy.Request<HttpEvent, HttpResult>) => {
    const mapped = errorToResponse(request.error);
    if (mapped.log) {
      logger.error('request failed', {
        route: request.event.routeKey,
        requestId: request.context.awsRequestId,
        error: request.error,
        status: mapped.statusCode,
      });
    }
    const headers: Record<string, string> = mapped.statusCode === 503 ? { 'retry-after': '1' } : {};
    request.response = json(mapped.statusCode, mapped.body, headers);
  },
};

export function httpHandler(fn: HttpHandlerFn) {
  return middy<HttpEvent, HttpResult>().use(lowercaseHeaders).use(errorResponder).handler(fn);
}
