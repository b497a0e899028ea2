/**
 * Segment's Profile API, on loopback: the read paths Crosswalk's read-through calls (users
 * `/external_ids`, `/traits`, `/links`, `/metadata`; accounts `/traits`), with Segment's documented
 * shapes, HTTP Basic (the token as user name), error bodies and its limit of 100 requests per second
 * (429 above it, in any one-second window). `npm start` mounts it under /local/segment, seeded with
 * the demo's people; tests, the bench and `npm run backfill`'s tests run it as a server of their own
 * and set its latency or a fault. Every call is counted, by resource.
 *
 * As Segment documents it (docs/profile-api.md): `+` in an id must be sent as `%2B` (a bare `+` reads
 * as a space), and ids are looked up exactly as sent once decoded.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { serveOnLoopback } from './loopback-server';
import type { LocalAnswer, LocalRoute } from './server';

export type TraitValue = string | number | boolean | null;

export interface StandInPerson {
  /** Segment's external ids, oldest first or in any order; `createdAt` is ISO-8601. */
  externalIds: { type: string; id: string; createdAt: string }[];
  traits?: Record<string, TraitValue>;
  /** When each trait was last updated (ISO-8601); default: the latest external id's date. */
  traitsUpdatedAt?: string;
  accounts?: { id: string; createdAt: string }[];
}

export type StandInFault =
  | { kind: 'status'; status: number }
  | { kind: 'malformed' }
  /** A body of this many bytes (e.g. 10 MB): valid JSON, far over any sensible cap. */
  | { kind: 'huge'; bytes: number }
  /** `/external_ids` answers this many ids for whoever is asked. */
  | { kind: 'many-ids'; count: number };

export interface StandInCall {
  collection: 'users' | 'accounts';
  id: string;
  resource: string;
  query: string;
  status: number;
}

export interface LocalProfileApiOptions {
  token: string;
  /** Segment space id in the paths; any when unset. */
  spaceId?: string;
  people?: readonly StandInPerson[];
  accounts?: Record<string, Record<string, TraitValue>>;
  /** Delay before every answer. */
  latencyMs?: number;
  /** Requests per any one-second window before 429 (Segment: 100). */
  maxPerSecond?: number;
}

const SOURCE_ID = 'local-source';
const json = (status: number, body: unknown, headers: Record<string, string> = {}): LocalAnswer => ({
  status,
  headers: {
    'content-type': 'application/json',
    'request-id': `local-${Math.random().toString(36).slice(2)}`,
    ...headers,
  },
  body: JSON.stringify(body),
});
const error = (status: number, code: string, message: string) => json(status, { error: { code, message } });

export class LocalProfileApi {
  private readonly byId = new Map<string, StandInPerson>();
  readonly accounts: Map<string, Record<string, TraitValue>>;
  readonly calls: StandInCall[] = [];
  /** Requests that arrived (answered or not yet: `calls` lists those answered). */
  received = 0;
  latencyMs: number;
  /** Extra delay of one resource's answers (`links`, `traits`…), on top of `latencyMs`. */
  resourceLatencyMs: Record<string, number> = {};
  maxPerSecond: number;
  fault: StandInFault | undefined;
  private recent: number[] = [];

  constructor(private readonly options: LocalProfileApiOptions) {
    this.latencyMs = options.latencyMs ?? 0;
    this.maxPerSecond = options.maxPerSecond ?? 100;
    this.accounts = new Map(Object.entries(options.accounts ?? {}));
    for (const person of options.people ?? []) this.add(person);
  }

  /** Makes a person known to "Segment" (under each of their external ids). */
  add(person: StandInPerson): void {
    for (const external of person.externalIds) this.byId.set(`${external.type}:${external.id}`, person);
  }

  /** Forgets everyone (a Segment deletion). */
  clear(): void {
    this.byId.clear();
  }

  /** Calls received, optionally of one resource only. */
  count(resource?: string): number {
    return resource === undefined
      ? this.calls.length
      : this.calls.filter((c) => c.resource === resource).length;
  }

  async answer(request: {
    path: string;
    query: URLSearchParams;
    headers: IncomingHttpHeaders;
  }): Promise<LocalAnswer> {
    const match = /^\/v1\/spaces\/([^/]+)\/collections\/(users|accounts)\/profiles\/([^/]+)\/([^/]+)$/.exec(
      request.path,
    );
    this.received++;
    const delay = this.latencyMs + (this.resourceLatencyMs[match?.[4] ?? ''] ?? 0);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay).unref());
    const record = (status: number) => {
      if (match)
        this.calls.push({
          collection: match[2] as 'users' | 'accounts',
          id: match[3] ?? '',
          resource: match[4] ?? '',
          query: request.query.toString(),
          status,
        });
    };
    const answered = this.route(match, request);
    record(answered.status);
    return answered;
  }

  private route(
    match: RegExpExecArray | null,
    request: { path: string; query: URLSearchParams; headers: IncomingHttpHeaders },
  ): LocalAnswer {
    if (Number.isFinite(this.maxPerSecond)) {
      const nowMs = Date.now();
      while (this.recent.length > 0 && this.recent[0]! <= nowMs - 1000) this.recent.shift();
      if (this.recent.length >= this.maxPerSecond)
        return error(
          429,
          'rate_limit_error',
          `Too many requests: ${this.maxPerSecond} per second per space.`,
        );
      this.recent.push(nowMs);
    }
    const [user] = Buffer.from((request.headers.authorization ?? '').replace(/^Basic\s+/i, ''), 'base64')
      .toString('utf8')
      .split(':');
    if (!request.headers.authorization || user !== this.options.token)
      return error(401, 'authentication_error', 'The access token is missing or invalid.');
    if (!match) return error(404, 'not_found', 'Route not found.');
    const [, space = '', collection, rawId = '', resource = ''] = match;
    if (this.options.spaceId && decodeURIComponent(space) !== this.options.spaceId)
      return error(404, 'not_found', 'Space was not found.');
    const fault = this.fault;
    if (fault?.kind === 'status')
      return error(
        fault.status,
        fault.status === 429 ? 'rate_limit_error' : 'server_error',
        `Status ${fault.status}.`,
      );
    if (fault?.kind === 'malformed')
      return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"data": [' };
    if (fault?.kind === 'huge') return json(200, { data: [], padding: 'x'.repeat(fault.bytes) });
    // Segment reads a bare `+` as a space: `+` must be sent as `%2B`.
    const id = decodeURIComponent(rawId.replaceAll('+', ' '));
    if (fault?.kind === 'many-ids' && resource === 'external_ids') {
      return json(200, {
        data: Array.from({ length: fault.count }, (_, i) =>
          externalId('anonymous_id', `many-${i}`, new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString()),
        ),
        cursor: { url: request.path, has_more: false, next: '' },
      });
    }
    if (collection === 'accounts') {
      const groupId = id.startsWith('group_id:') ? id.slice('group_id:'.length) : undefined;
      const traits = groupId === undefined ? undefined : this.accounts.get(groupId);
      if (!traits || resource !== 'traits') return error(404, 'not_found', 'Profile was not found.');
      return json(200, {
        traits: selectTraits(traits, request.query, undefined),
        cursor: cursor(request.path),
      });
    }
    const person = this.byId.get(id);
    if (!person) return error(404, 'not_found', 'Profile was not found.');
    const latest =
      person.externalIds
        .map((e) => e.createdAt)
        .sort()
        .at(-1) ?? new Date(0).toISOString();
    switch (resource) {
      case 'external_ids':
        return json(200, {
          data: person.externalIds.map((e) => externalId(e.type, e.id, e.createdAt)),
          cursor: cursor(request.path),
        });
      case 'traits':
        return json(200, {
          traits: selectTraits(person.traits ?? {}, request.query, person.traitsUpdatedAt ?? latest),
          cursor: cursor(request.path),
        });
      case 'links':
        return json(200, {
          data: (person.accounts ?? []).map((a) => ({
            to_collection: 'accounts',
            external_ids: [
              {
                id: a.id,
                type: 'group_id',
                source_id: SOURCE_ID,
                collection: 'accounts',
                created_at: a.createdAt,
                encoding: 'none',
              },
            ],
          })),
        });
      case 'metadata':
        return json(200, {
          metadata: {
            created_at: person.externalIds.map((e) => e.createdAt).sort()[0],
            updated_at: latest,
            expires_at: null,
            first_message_id: 'local-first',
            first_source_id: SOURCE_ID,
            last_message_id: 'local-last',
            last_source_id: SOURCE_ID,
          },
        });
      default:
        return error(400, 'validation_error', `The resource \`${resource}\` is not served by this stand-in.`);
    }
  }

  /** Its routes under `prefix` (e.g. `/local/segment`), for the local server. */
  routes(prefix = ''): LocalRoute[] {
    const escaped = prefix.replace(/[/.]/g, (c) => `\\${c}`);
    return [
      {
        method: 'GET',
        path: new RegExp(`^${escaped}(/v1/spaces/.*)$`),
        handle: ({ url, match, headers }) =>
          this.answer({ path: match[1] ?? '', query: url.searchParams, headers }),
      },
    ];
  }
}

function externalId(type: string, id: string, createdAt: string) {
  return {
    source_id: SOURCE_ID,
    collection: 'users',
    id,
    type,
    created_at: createdAt,
    encoding: 'none',
    first_message_id: 'local-first',
  };
}

function cursor(path: string) {
  return { url: path, has_more: false, next: '' };
}

function selectTraits(
  traits: Record<string, TraitValue>,
  query: URLSearchParams,
  updatedAt: string | undefined,
): Record<string, unknown> {
  const include = query
    .get('include')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const limit = Number(query.get('limit') ?? 10);
  const verbose = query.get('verbose') === 'true';
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(traits)) {
    if (include && !include.includes(key)) continue;
    if (Object.keys(out).length >= limit) break;
    out[key] = verbose
      ? { value, source_id: SOURCE_ID, updated_at: updatedAt ?? new Date(0).toISOString() }
      : value;
  }
  return out;
}

export interface LocalProfileApiServer {
  api: LocalProfileApi;
  url: string;
  close(): Promise<void>;
}

/** The stand-in as a server of its own on a free loopback port. */
export async function startLocalProfileApi(options: LocalProfileApiOptions): Promise<LocalProfileApiServer> {
  const api = new LocalProfileApi(options);
  const server = await serveOnLoopback(({ req, url }) =>
    api.answer({ path: url.pathname, query: url.searchParams, headers: req.headers }),
  );
  return { api, ...server };
}
