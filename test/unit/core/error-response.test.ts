import { describe, expect, it } from '@jest/globals';
import {
  ConfigurationError,
  DependencyUnavailableError,
  faultKind,
  IdentifierConflictError,
  InvalidRequestError,
  LimitExceededError,
  NoIdentifierError,
  NotFoundError,
  NotPermittedError,
  PayloadTooLargeError,
  UnauthenticatedError,
  UnknownProjectError,
} from '../../../src/platform/core/errors';
import { errorAnswer } from '../../../src/platform/http/error-response';

describe('the error table', () => {
  it.each([
    [new InvalidRequestError('userId: must not be empty'), 400],
    [new NoIdentifierError('Send userId or at least one identifier'), 400],
    [new IdentifierConflictError('userId and identifiers.user_id differ'), 400],
    [new UnauthenticatedError('Invalid API key'), 401],
    [new NotPermittedError('needs the admin scope'), 403],
    [new UnknownProjectError('No datafile for SDK key x'), 403],
    [new NotFoundError('No profile'), 404],
    [new PayloadTooLargeError('body: larger than 10 bytes'), 413],
    [new LimitExceededError('too many operations, exceeding 3 operations'), 422],
  ])("answers %p with %i, its message in Agent's body and its name in a header", (error, status) => {
    const answer = errorAnswer(error);
    expect(answer.statusCode).toBe(status);
    expect(answer.body).toEqual({ error: error.message });
    expect(answer.headers['x-crosswalk-error']).toBe(error.name);
    expect(answer.headers).not.toHaveProperty('x-crosswalk-error-detail');
    expect(answer.log).toBe(false);
  });

  it("keeps Agent's wording in the body and Crosswalk's explanation in a header, made header-safe", () => {
    const answer = errorAnswer(
      new UnknownProjectError('unable to fetch fresh datafile', {
        detail: 'SDK key ✗ is not served\r\nX: y',
      }),
    );
    expect(answer.body).toEqual({ error: 'unable to fetch fresh datafile' });
    expect(answer.headers['x-crosswalk-error-detail']).toBe('SDK key ? is not served??X: y');
  });

  it('answers an unknown error with a generic 500 that never carries its message', () => {
    const answer = errorAnswer(new Error('secret: sk_live_123'));
    expect(answer.statusCode).toBe(500);
    expect(JSON.stringify(answer.body)).not.toContain('secret');
    expect(answer.log).toBe(true);
  });

  it('keeps 5xx bodies generic for domain errors too, and asks for a retry on dependency faults', () => {
    const unavailable = errorAnswer(
      new DependencyUnavailableError('DynamoDB table crosswalk-prod throttled'),
    );
    expect(unavailable).toMatchObject({ statusCode: 503, headers: { 'retry-after': '1' }, log: true });
    expect(JSON.stringify(unavailable.body)).not.toContain('crosswalk-prod');
    const misconfigured = errorAnswer(new ConfigurationError('Secret arn:aws:… is not JSON'));
    expect(misconfigured.statusCode).toBe(500);
    expect(JSON.stringify(misconfigured.body)).not.toContain('arn:aws');
  });

  it('names the cause of a 503 when the error carries one written for the caller', () => {
    const answer = errorAnswer(
      new DependencyUnavailableError('No datafile for SDK key k', {
        detail: 'no datafile is stored for SDK key k, and the datafile CDN could not be reached',
      }),
    );
    expect(answer).toMatchObject({
      statusCode: 503,
      body: {
        error:
          'A dependency is temporarily unavailable; retry later: no datafile is stored for SDK key k, and the datafile CDN could not be reached',
      },
      headers: {
        'retry-after': '1',
        'x-crosswalk-error-detail':
          'no datafile is stored for SDK key k, and the datafile CDN could not be reached',
      },
    });
  });

  it('treats throttling and network errors of the AWS SDK as retryable', () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(errorAnswer(throttled).statusCode).toBe(503);
    expect(errorAnswer(refused).statusCode).toBe(503);
  });

  it('keeps the cause of a domain error', () => {
    const cause = new Error('socket hang up');
    expect(new DependencyUnavailableError('DynamoDB is unavailable', { cause }).cause).toBe(cause);
  });
});

describe('faultKind', () => {
  const named = (name: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(name), { name }, extra);

  it('calls DynamoDB throttling throttled, through any depth of causes', () => {
    expect(faultKind(named('ThrottlingException'))).toBe('throttled');
    expect(faultKind(named('ProvisionedThroughputExceededException'))).toBe('throttled');
    expect(
      faultKind(
        new DependencyUnavailableError('DynamoDB is unavailable or throttling', {
          cause: named('ThrottlingException'),
        }),
      ),
    ).toBe('throttled');
    const cancelled = named('TransactionCanceledException', {
      CancellationReasons: [{ Code: 'None' }, { Code: 'ThrottlingError' }],
    });
    expect(
      faultKind(new DependencyUnavailableError('DynamoDB throttled a transaction', { cause: cancelled })),
    ).toBe('throttled');
  });

  it('calls timeouts and aborts timeouts, and anything else unavailable', () => {
    expect(faultKind(named('TimeoutError'))).toBe('timeout');
    expect(faultKind(new DependencyUnavailableError('x', { cause: named('AbortError') }))).toBe('timeout');
    expect(faultKind(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      'unavailable',
    );
    // An error object from another realm (Node's own, seen from a test VM) is read all the same.
    expect(faultKind({ name: 'TimeoutError', message: 'x' })).toBe('timeout');
  });
});
