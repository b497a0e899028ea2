/**
 * The one table from errors to HTTP answers. Domain errors carry a kind; this is the only place that
 * knows which status each kind means. Messages of 4xx answers are for the caller (they name the
 * rule that was broken); 5xx answers are generic and the detail goes to the log only, as middy's
 * http-error-handler does (`expose = status < 500`).
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
  configuration: 500,
  'dependency-unavailable': 503,
};

export interface ErrorAnswer {
  statusCode: number;
  body: { error: string; message: string; details?: unknown };
  headers: Record<string, string>;
  /** Server-side faults are logged with the error; caller mistakes are not. */
  log: boolean;
}

const GENERIC_503 = 'A dependency is temporarily unavailable; retry later';
const GENERIC_500 = 'Internal server error';

/** Maps any thrown value to a status and a body safe to show the caller. */
export function errorAnswer(error: unknown): ErrorAnswer {
  const statusCode =
    error instanceof CrosswalkError ? STATUS_BY_KIND[error.kind] : isTransient(error) ? 503 : 500;
  if (statusCode >= 500) {
    const unavailable = statusCode === 503;
    return {
      statusCode,
      body: unavailable
        ? { error: 'ServiceUnavailable', message: GENERIC_503 }
        : { error: 'InternalServerError', message: GENERIC_500 },
      headers: unavailable ? { 'retry-after': '1' } : {},
      log: true,
    };
  }
  const known = error as CrosswalkError;
  const body: ErrorAnswer['body'] = { error: known.name, message: known.message };
  if (known.details !== undefined) body.details = known.details;
  return { statusCode, body, headers: {}, log: false };
}
