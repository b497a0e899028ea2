/**
 * A small client of a running Crosswalk, for the demo and the `npm run segment` sender: signed
 * Segment webhook posts (X-Signature over what Segment signs) and Agent-style decide calls.
 */
import { hmacSha1Hex, segmentSignedPayload } from '../../src/platform/http/webhook-auth';

export interface CrosswalkClientOptions {
  url: string;
  apiKey?: string | undefined;
  segmentSecret?: string | undefined;
  segmentToken?: string | undefined;
}

export interface Answer<T = unknown> {
  status: number;
  body: T;
}

async function answer<T>(response: Response): Promise<Answer<T>> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: body as T };
}

/** POSTs one Segment event or a batch to /webhooks/segment, signed as Segment signs it. */
export async function sendSegment(options: CrosswalkClientOptions, events: unknown): Promise<Answer> {
  const body = JSON.stringify(events);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'Segment (Actions)',
  };
  const signed = segmentSignedPayload(body, events);
  if (options.segmentSecret && signed !== undefined) {
    headers['x-signature'] = hmacSha1Hex(options.segmentSecret, signed);
  }
  if (options.segmentToken) headers['x-crosswalk-token'] = options.segmentToken;
  return answer(await fetch(`${options.url}/webhooks/segment`, { method: 'POST', headers, body }));
}

export async function decide<T = unknown>(
  options: CrosswalkClientOptions,
  body: Record<string, unknown>,
  keys: readonly string[] = [],
  extra: { includeIdentity?: boolean } = {},
): Promise<Answer<T>> {
  const query = [
    ...keys.map((k) => `keys=${encodeURIComponent(k)}`),
    ...(extra.includeIdentity ? ['includeIdentity=true'] : []),
  ].join('&');
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.apiKey) headers['x-api-key'] = options.apiKey;
  return answer(
    await fetch(`${options.url}/v1/decide${query ? `?${query}` : ''}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    }),
  );
}
