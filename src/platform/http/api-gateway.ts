/** API Gateway HTTP API (payload format 2.0) event and result shapes, and small helpers on them. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { InvalidRequestError, PayloadTooLargeError } from '../core/errors';
import { goJsonText } from '../core/go-json';
import { nestingProblem, shallowJsonText } from '../core/nesting';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/** The request body as sent, decoding API Gateway's base64 form when needed. */
export function rawBody(event: HttpEvent): string {
  if (event.body === undefined || event.body === null) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

export interface JsonBodyRules {
  /** Larger bodies are refused (413), naming `setting` (default MAX_BODY_BYTES). */
  maxBytes: number;
  setting?: string;
  /** What an empty (or blank) body stands for; without it, an empty body is invalid. */
  empty?: unknown;
  /** The error for a body that is empty or not JSON, given the problem (default: `body: <problem>`, a 400). */
  invalid?: (problem: string) => Error;
  /** The error for JSON nested too deep (default: the problem itself, a 400). */
  tooDeep?: (problem: string) => Error;
}

/**
 * The one request-body parser: size, then emptiness, then JSON, then nesting depth, each failure an
 * error the caller words (routes keep their own wording: Agent's, the webhooks', Crosswalk's).
 * The Segment webhook parses its body itself: its signature is checked between parsing and refusing.
 */
export function readJsonBody(event: HttpEvent, rules: JsonBodyRules): unknown {
  const invalid = rules.invalid ?? ((problem) => new InvalidRequestError(`body: ${problem}`));
  const body = rawBody(event);
  // A UTF-16 unit is at most 3 UTF-8 bytes: most bodies need no count.
  if (body.length * 3 > rules.maxBytes && Buffer.byteLength(body, 'utf8') > rules.maxBytes) {
    throw new PayloadTooLargeError(
      `body: larger than ${rules.maxBytes} bytes (${rules.setting ?? 'MAX_BODY_BYTES'})`,
    );
  }
  if (body.trim() === '') {
    if ('empty' in rules) return rules.empty;
    throw invalid('empty; expected JSON');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw invalid(`not valid JSON (${(error as Error).message})`);
  }
  // A body with few brackets cannot nest too deep: the walk is skipped (a decide body has a handful).
  const problem = shallowJsonText(body) ? undefined : nestingProblem(parsed);
  if (problem) throw rules.tooDeep ? rules.tooDeep(problem) : new InvalidRequestError(problem);
  return parsed;
}

/** A JSON body, failing with an error that names the problem (and the setting for size). */
export function jsonBody(event: HttpEvent, maxBytes: number): unknown {
  return readJsonBody(event, { maxBytes });
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
    // A name that is not in the query at all (as written: `%` could hide it, so only without one).
    if (!raw.includes(name) && !raw.includes('%')) return [];
    // URLSearchParams decodes `+` and `%XX`; a query with neither (the common one) is split as is.
    if (raw.includes('%') || raw.includes('+')) return new URLSearchParams(raw).getAll(name);
    // Scanned in place: no array of pairs, no slice of a name that is not this one.
    const values: string[] = [];
    for (let start = 0; start < raw.length; ) {
      let end = raw.indexOf('&', start);
      if (end < 0) end = raw.length;
      let eq = raw.indexOf('=', start);
      if (eq < 0 || eq > end) eq = end;
      if (end > start && eq - start === name.length && raw.startsWith(name, start))
        values.push(eq === end ? '' : raw.slice(eq + 1, end));
      start = end + 1;
    }
    return values;
  }
  const value = event.queryStringParameters?.[name];
  return value === undefined ? [] : [value];
}

/** A list parameter: repeated (`keys=a&keys=b`) or comma-separated, empty items dropped. */
export function queryValues(event: HttpEvent, name: string): string[] {
  const values: string[] = [];
  for (const raw of queryAll(event, name)) {
    if (!raw.includes(',')) {
      const value = raw.trim();
      if (value.length > 0) values.push(value);
      continue;
    }
    for (const item of raw.split(',')) {
      const value = item.trim();
      if (value.length > 0) values.push(value);
    }
  }
  return values;
}

/** A header by its lowercase name (httpHandler lowercases every name first). */
export function header(event: HttpEvent, name: string): string | undefined {
  return event.headers?.[name];
}
