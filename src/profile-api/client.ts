/**
 * Segment's Profile API as the read-through calls it: GET on
 * `<base>/v1/spaces/<space>/collections/<users|accounts>/profiles/<type>:<value>/<resource>` with HTTP
 * Basic (the access token as user name, an empty password). On `node:http`/`node:https` with
 * keep-alive agents, as src/platform/http/outbound.ts does and for the same reason (the global `fetch`
 * costs a cold start ~60 ms to load); unlike it, every answer is capped at MAX_RESPONSE_BYTES and
 * every call ends when its signal aborts. Never throws: each call answers a body or the kind of
 * failure, which the read-through turns into "answer as without it" (docs/profile-api.md).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** What one call can end as, besides a JSON body. */
export type ProfileApiFailure =
  /** 404: Segment has no such profile. */
  | 'not-found'
  /** The budget ran out before the answer did. */
  | 'timeout'
  /** 429: Segment's 100 requests/s per space. */
  | 'throttled'
  /** 401 or 403: the token is wrong or lacks access to the space. */
  | 'unauthorized'
  /** 5xx, another unexpected status, or the connection failed. */
  | 'unavailable'
  /** Not JSON, or not the documented shape. */
  | 'malformed'
  /** Larger than MAX_RESPONSE_BYTES. */
  | 'too-large';

export type ProfileApiAnswer = { ok: true; body: unknown } | { ok: false; failure: ProfileApiFailure };

/**
 * An answer larger than this is abandoned as soon as it is: no profile needs it (Segment's hard limit
 * of 1,000 identifier mappings per profile is about 250 KB of `/external_ids`), and a broken or
 * hostile server must not fill a Lambda's memory.
 */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export type Collection = 'users' | 'accounts';

export interface ProfileApiRequest {
  collection: Collection;
  /** `type:value` parts, URL-encoded here (`+` as `%2B`, as Segment asks). */
  type: string;
  value: string;
  resource: 'external_ids' | 'traits' | 'links';
  query?: Record<string, string>;
  signal: AbortSignal;
}

export interface ProfileApiClient {
  get(request: ProfileApiRequest): Promise<ProfileApiAnswer>;
}

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 16 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 16 });

/** The path of one profile resource, every part URL-encoded once. */
export function profilePath(space: string, request: Omit<ProfileApiRequest, 'signal'>): string {
  const id = `${encodeURIComponent(request.type)}:${encodeURIComponent(request.value)}`;
  const query = new URLSearchParams(request.query ?? {}).toString();
  return `/v1/spaces/${encodeURIComponent(space)}/collections/${request.collection}/profiles/${id}/${request.resource}${query ? `?${query}` : ''}`;
}

function failureOf(status: number): ProfileApiFailure {
  if (status === 404) return 'not-found';
  if (status === 429) return 'throttled';
  if (status === 401 || status === 403) return 'unauthorized';
  return 'unavailable';
}

export function createProfileApiClient(options: {
  baseUrl: string;
  spaceId: string;
  /** The access token; undefined: no call is made (answered as `unauthorized`). */
  token: () => Promise<string | undefined>;
  maxResponseBytes?: number;
}): ProfileApiClient {
  const base = new URL(options.baseUrl);
  const secure = base.protocol === 'https:';
  const prefix = base.pathname.replace(/\/+$/, '');
  const limit = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;

  return {
    async get(request) {
      // A token that cannot be read (no secret, a broken one) is no token: nothing is asked.
      const token = await options.token().catch(() => undefined);
      if (!token) return { ok: false, failure: 'unauthorized' };
      if (request.signal.aborted) return { ok: false, failure: 'timeout' };
      return new Promise<ProfileApiAnswer>((resolve) => {
        let settled = false;
        const done = (answer: ProfileApiAnswer) => {
          if (settled) return;
          settled = true;
          request.signal.removeEventListener('abort', onAbort);
          resolve(answer);
        };
        const onResponse = (message: IncomingMessage) => {
          const status = message.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            // The body is not needed; drain it so the connection can be reused.
            message.resume();
            done({ ok: false, failure: failureOf(status) });
            return;
          }
          const declared = Number(message.headers['content-length'] ?? 0);
          if (declared > limit) {
            outgoing.destroy();
            done({ ok: false, failure: 'too-large' });
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          message.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > limit) {
              outgoing.destroy();
              done({ ok: false, failure: 'too-large' });
              return;
            }
            chunks.push(chunk);
          });
          message.on('error', () =>
            done({ ok: false, failure: request.signal.aborted ? 'timeout' : 'unavailable' }),
          );
          message.on('aborted', () =>
            done({ ok: false, failure: request.signal.aborted ? 'timeout' : 'unavailable' }),
          );
          message.on('end', () => {
            try {
              done({ ok: true, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
            } catch {
              done({ ok: false, failure: 'malformed' });
            }
          });
        };
        const target = new URL(`${base.origin}${prefix}${profilePath(options.spaceId, request)}`);
        const requestOptions = {
          method: 'GET',
          headers: {
            accept: 'application/json',
            authorization: `Basic ${Buffer.from(`${token}:`).toString('base64')}`,
          },
        };
        const outgoing = secure
          ? httpsRequest(target, { ...requestOptions, agent: httpsAgent }, onResponse)
          : httpRequest(target, { ...requestOptions, agent: httpAgent }, onResponse);
        const onAbort = () => {
          outgoing.destroy();
          done({ ok: false, failure: 'timeout' });
        };
        request.signal.addEventListener('abort', onAbort, { once: true });
        outgoing.on('error', () =>
          done({ ok: false, failure: request.signal.aborted ? 'timeout' : 'unavailable' }),
        );
        outgoing.end();
      });
    },
  };
}
