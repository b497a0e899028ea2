/**
 * The one middy stack every HTTP function uses: header normalisation first, then the handler,
 * with typed errors mapped to responses last. Unknown errors are logged, never echoed.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { Context } from 'aws-lambda';
import { logger } from '../observability/logger';
import type { HttpEvent, HttpResult } from './api-gateway';
import { json } from './api-gateway';
import { errorToResponse } from './errors';

export type HttpHandlerFn = (event: HttpEvent, context: Context) => Promise<HttpResult>;

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
  return middy<HttpEvent, HttpResult>()
    .use(httpHeaderNormalizer({ canonical: false }))
    .use(errorResponder)
    .handler(fn);
}
