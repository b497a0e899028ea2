/**
 * The domain's error vocabulary. Domain code (identity, decisions, optimizely, storage, config)
 * throws these and knows nothing of HTTP; `platform/http/error-response.ts` holds the one table that maps
 * each kind to a status code. Every error keeps its `cause`, so logs show the whole chain.
 */

export type ErrorKind =
  | 'invalid-request'
  | 'payload-too-large'
  | 'no-identifier'
  | 'identifier-conflict'
  | 'unauthenticated'
  | 'not-permitted'
  | 'unknown-project'
  | 'not-found'
  | 'limit-exceeded'
  | 'dependency-unavailable'
  | 'configuration';

export abstract class CrosswalkError extends Error {
  abstract readonly kind: ErrorKind;
  /**
   * Crosswalk's explanation when the message is Optimizely Agent's fixed wording (answered in the
   * `x-crosswalk-error-detail` header and logged, so the body keeps Agent's exact shape); never
   * secrets or stack traces.
   */
  readonly detail?: string;

  constructor(message: string, options: { cause?: unknown; detail?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.detail !== undefined) this.detail = options.detail;
  }
}

/** The request breaks a rule; the message names it. */
export class InvalidRequestError extends CrosswalkError {
  override name = 'InvalidRequestError';
  readonly kind = 'invalid-request';
}

export class PayloadTooLargeError extends CrosswalkError {
  override name = 'PayloadTooLargeError';
  readonly kind = 'payload-too-large';
}

/** A decide/track request names nobody: no userId and no usable identifier. */
export class NoIdentifierError extends CrosswalkError {
  override name = 'NoIdentifierError';
  readonly kind = 'no-identifier';
}

/** A request names two different values for one identifier type. */
export class IdentifierConflictError extends CrosswalkError {
  override name = 'IdentifierConflictError';
  readonly kind = 'identifier-conflict';
}

/** Missing or wrong credentials. */
export class UnauthenticatedError extends CrosswalkError {
  override name = 'UnauthenticatedError';
  readonly kind = 'unauthenticated';
}

/** Valid credentials that do not allow this. */
export class NotPermittedError extends CrosswalkError {
  override name = 'NotPermittedError';
  readonly kind = 'not-permitted';
}

/** An SDK key this deployment has no datafile for (Optimizely Agent answers these with 403). */
export class UnknownProjectError extends CrosswalkError {
  override name = 'UnknownProjectError';
  readonly kind = 'unknown-project';
}

export class NotFoundError extends CrosswalkError {
  override name = 'NotFoundError';
  readonly kind = 'not-found';
}

/** A well-formed request asking for more than a configured limit allows (Agent's batch: 422). */
export class LimitExceededError extends CrosswalkError {
  override name = 'LimitExceededError';
  readonly kind = 'limit-exceeded';
}

/** A fault a retry may fix: throttling, timeouts, an unreachable dependency, exhausted conflict retries. */
export class DependencyUnavailableError extends CrosswalkError {
  override name = 'DependencyUnavailableError';
  readonly kind = 'dependency-unavailable';
}

/** The deployment is misconfigured; fails a cold start or `npm start` with a message naming the setting. */
export class ConfigurationError extends CrosswalkError {
  override name = 'ConfigurationError';
  readonly kind = 'configuration';
}

const retryableAwsErrors = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'TransactionInProgressException',
]);

/**
 * True for errors where the right answer is "try again later": our own DependencyUnavailableError,
 * AWS SDK errors that are throttling, 5xx or retryable, and network failures.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof DependencyUnavailableError) return true;
  // Not `instanceof Error`: Node's own network errors may come from another realm (a test's VM).
  if (typeof error !== 'object' || error === null) return false;
  if (retryableAwsErrors.has((error as Error).name)) return true;
  const aws = error as { $metadata?: { httpStatusCode?: number }; $retryable?: unknown; code?: string };
  if (aws.$retryable) return true;
  const status = aws.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  // An SDK error with metadata but no status never got a response: a network fault.
  if (aws.$metadata !== undefined && status === undefined) return true;
  const code = aws.code;
  return code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'ETIMEDOUT' || code === 'EPIPE';
}

/** What kind of dependency fault an error is, for the metrics an operator watches (docs/operations.md). */
export type FaultKind = 'throttled' | 'timeout' | 'unavailable';

const throttlingNames = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
]);

/**
 * Classifies a transient error by the first cause in its chain that says what happened: throttling
 * (DynamoDB's throttling exceptions, a transaction cancelled for throttling), a timeout (an attempt
 * or the request's deadline ran out), or anything else a retry may fix (refused, reset, 5xx).
 */
export function faultKind(error: unknown): FaultKind {
  // Not `instanceof Error`: errors of Node's internals (an aborted request's) may come from another realm.
  for (
    let e = error as Error | undefined, depth = 0;
    typeof e === 'object' && e !== null && depth < 8;
    e = e.cause as Error | undefined, depth++
  ) {
    const aws = e as {
      $retryable?: { throttling?: boolean };
      code?: string;
      CancellationReasons?: { Code?: string }[];
    };
    const cancelledForThrottling = aws.CancellationReasons?.some(
      (r) => r.Code === 'ThrottlingError' || r.Code === 'ProvisionedThroughputExceeded',
    );
    if (throttlingNames.has(e.name) || aws.$retryable?.throttling || cancelledForThrottling) {
      return 'throttled';
    }
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || aws.code === 'ETIMEDOUT') return 'timeout';
  }
  return 'unavailable';
}
