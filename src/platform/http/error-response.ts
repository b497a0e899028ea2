/**
 * The one table from errors to HTTP answers. Domain errors carry a kind; this is the only place that
 * knows which status each kind means. Bodies have Optimizely Agent's shape, `{"error": "<message>"}`,
 * so Agent clients decode them unchanged; Crosswalk's error name and any extra explanation travel in
 * the `x-crosswalk-error` and `x-crosswalk-error-detail` headers. Messages of 4xx answers are for the
 * caller (they name the rule that was broken); 5xx answers are generic and the detail goes to the
 * log only, as middy's http-error-handler does (`expose = status < 500`).
 */
import { CrosswalkError, type ErrorKind, isTransient } from '../core/errors';

export const STATUS_BY_KIND: Record<ErrorKind, number> = {
  'invalid-request': 400,
  'no-identifier': 400,
  'identifier-conflict': 400,
  unauthenticated: 401,
  'not-permitted': 403,
  'unknown-project': 403,
  'not-found': 404,
  'payload-too-large': 413,
  'limit-exceeded': 422,
  configuration: 500,
  'dependency-unavailable': 503,
};

export const ERROR_NAME_HEADER = 'x-crosswalk-error';
export const ERROR_DETAIL_HEADER = 'x-crosswalk-error-detail';

export interface ErrorAnswer {
  statusCode: number;
  body: { error: string };
  headers: Record<string, string>;
  /** Server-side faults are logged with the error; caller mistakes are not. */
  log: boolean;
}

const GENERIC_503 = 'A dependency is temporarily unavailable; retry later';
const GENERIC_500 = 'Internal server error';

/** A header value: printable ASCII only (a caller's input may be echoed), at most 512 characters. */
function headerText(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 512);
}

/** Maps any thrown value to a status and a body safe to show the caller. */
export function errorAnswer(error: unknown): ErrorAnswer {
  const statusCode =
    error instanceof CrosswalkError ? STATUS_BY_KIND[error.kind] : isTransient(error) ? 503 : 500;
  if (statusCode >= 500) {
    const unavailable = statusCode === 503;
    // A dependency fault may name its cause for the caller (`detail`, written for them, such as a
    // datafile that is neither stored nor fetchable); the message stays in the log.
    const detail =
      unavailable && error instanceof CrosswalkError && error.detail !== undefined
        ? headerText(error.detail)
        : undefined;
    return {
      statusCode,
      body: { error: unavailable ? (detail ? `${GENERIC_503}: ${detail}` : GENERIC_503) : GENERIC_500 },
      headers: unavailable
        ? {
            'retry-after': '1',
            [ERROR_NAME_HEADER]: 'ServiceUnavailable',
            ...(detail ? { [ERROR_DETAIL_HEADER]: detail } : {}),
          }
        : { [ERROR_NAME_HEADER]: 'InternalServerError' },
      log: true,
    };
  }
  const known = error as CrosswalkError;
  const headers: Record<string, string> = { [ERROR_NAME_HEADER]: known.name };
  if (known.detail !== undefined) headers[ERROR_DETAIL_HEADER] = headerText(known.detail);
  return { statusCode, body: { error: known.message }, headers, log: false };
}
