/** API Gateway HTTP API (payload format 2.0) event and result shapes, and small helpers on them. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { InvalidRequestError, PayloadTooLargeError } from '../core/errors';
import { goJsonText } from '../core/go-json';
import { nestingProblem } from '../core/nesting';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/** The request body as sent, decoding API Gateway's base64 form when needed. */
export function rawBody(event: HttpEvent): string {
  if (event.body === undefined || event.body === null) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/** Parses a JSON body, failing with an error that names the problem (and the setting for size). */
export function jsonBody(event: HttpEvent, maxBytes: number): unknown {
  const body = rawBody(event);
  if (Buffer.byteLength(body, 'utf8') > maxBytes) {
    throw new PayloadTooLargeError(`body: larger than ${maxBytes} bytes (MAX_BODY_BYTES)`);
  }
  if (body.trim() === '') throw new InvalidRequestError('body: empty; expected JSON');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new InvalidRequestError(`body: not valid JSON (${(error as Error).message})`);
  }
  const problem = nestingProblem(parsed);
  if (problem) throw new InvalidRequestError(problem);
  return parsed;
}

/**
 * A JSON answer, written as Optimizely Agent writes its bodies (platform/core/go-json.ts): HTML-safe escapes
 * and a final newline, on every route, errors included.
 */
export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: goJsonText(body),
  };
}

/**
 * Every value of a query parameter as sent: repeated keys apart and empty values kept, read from
 * the raw query string (API Gateway's `queryStringParameters` joins repeats with commas). A
 * hand-written event without `rawQueryString` gives its single value.
 */
export function queryAll(event: HttpEvent, name: string): string[] {
  const raw = event.rawQueryString;
  if (raw) {
    // URLSearchParams decodes `+` and `%XX`; a query with neither (the common one) is split as is.
    if (raw.includes('%') || raw.includes('+')) return new URLSearchParams(raw).getAll(name);
    const values: string[] = [];
    for (const pair of raw.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      if ((eq < 0 ? pair : pair.slice(0, eq)) === name) values.push(eq < 0 ? '' : pair.slice(eq + 1));
    }
    return values;
  }
  const value = event.queryStringParameters?.[name];
  return value === undefined ? [] : [value];
}

/** A list parameter: repeated (`keys=a&keys=b`) or comma-separated, empty items dropped. */
export function queryValues(event: HttpEvent, name: string): string[] {
  return queryAll(event, name)
    .flatMap((raw) => raw.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

/** A header by its lowercase name (httpHandler lowercases every name first). */
export function header(event: HttpEvent, name: string): string | undefined {
  return event.headers?.[name];
}
