/**
 * Typed errors and the one place that maps them to HTTP responses. Messages of 4xx errors are
 * meant for the caller; anything else is logged and answered with a generic body.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class BadRequestError extends HttpError {
  override name = 'BadRequestError';
  constructor(message: string, details?: unknown) {
    super(400, message, details);
  }
}

export class UnauthorizedError extends HttpError {
  override name = 'UnauthorizedError';
  constructor(message = 'Missing or invalid credentials') {
    super(401, message);
  }
}

export class ForbiddenError extends HttpError {
  override name = 'ForbiddenError';
  constructor(message: string) {
    super(403, message);
  }
}

export class NotFoundError extends HttpError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(404, message);
  }
}

export class PayloadTooLargeError extends HttpError {
  override name = 'PayloadTooLargeError';
  constructor(message: string) {
    super(413, message);
  }
}

/** A fault that a retry may fix (throttling, timeouts, an unreachable dependency). */
export class TransientError extends Error {
  override name = 'TransientError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const transientAwsErrors = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'TransactionInProgressException',
]);

/** True for errors where the right answer is "try again later" (5xx/429 to the caller). */
export function isTransient(error: unknown): boolean {
  if (error instanceof TransientError) return true;
  if (!(error instanceof Error)) return false;
  const meta = (error as { $metadata?: { httpStatusCode?: number }; $retryable?: unknown }).$metadata;
  if (transientAwsErrors.has(error.name)) return true;
  if ((error as { $retryable?: unknown }).$retryable) return true;
  if (meta?.httpStatusCode !== undefined && meta.httpStatusCode >= 500) return true;
  const code = (error as { code?: string }).code;
  return code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'ETIMEDOUT' || code === 'EPIPE';
}

export interface ErrorBody {
  statusCode: number;
  body: { error: string; message: string; details?: unknown };
  log: boolean;
}

/** Maps any thrown value to a status and a body safe to show the caller. */
export function errorToResponse(error: unknown): ErrorBody {
  if (error instanceof HttpError) {
    const body: ErrorBody['body'] = { error: error.name, message: error.message };
    if (error.details !== undefined) body.details = error.details;
    return { statusCode: error.statusCode, body, log: error.statusCode >= 500 };
  }
  if (isTransient(error)) {
    return {
      statusCode: 503,
      body: { error: 'ServiceUnavailable', message: 'A dependency is temporarily unavailable; retry later' },
      log: true,
    };
  }
  return {
    statusCode: 500,
    body: { error: 'InternalServerError', message: 'Internal server error' },
    log: true,
  };
}
