/**
 * Segment's Profile API read paths, served from the identity cache (docs/profile-api.md): code
 * written for `profiles.segment.com` works against Crosswalk by changing its base URL, at cache
 * latency and without Segment's 100 requests/s per space. Segment's shapes, statuses and error
 * bodies (`{"error":{"code","message"}}`); HTTP Basic with an operator key as user name (Segment's
 * convention for its token), or `x-api-key` / `Authorization: Bearer`. A person the cache does not
 * know is asked of Segment first (the read-through), as decide does.
 *
 * `{type}:{value}` arrives decoded once by API Gateway (HTTP APIs decode path parameters) and is
 * never decoded again: `%2B` is `+`, and a `+` sent as is stays `+` (Segment would read it as a space).
 */

import { type Identifier, identifierValueProblem, normalizeIdentifier } from '../../src/identity/identifiers';
import type { ProfileState } from '../../src/identity/profile';
import type { IdentityStore } from '../../src/identity/store';
import { own } from '../../src/platform/core/dict';
import { CrosswalkError, isTransient } from '../../src/platform/core/errors';
import type { HttpEvent, HttpResult } from '../../src/platform/http/api-gateway';
import { json } from '../../src/platform/http/api-gateway';
import type { Authenticate } from '../../src/platform/http/auth';
import { httpHandler, type LambdaHttpHandler } from '../../src/platform/http/http-handler';
import { routeOperations } from '../../src/platform/http/operations';
import type { Observability } from '../../src/platform/observability/logger';
import {
  accountLinks,
  accountTraits,
  externalIds,
  metadata,
  notFound,
  ProfileApiError,
  userLinks,
  userTraits,
} from '../../src/profile-api/compatible';
import type { ProfileReadThrough } from '../../src/profile-api/read-through';

export interface ProfileReadsDependencies {
  authenticate: Authenticate;
  store: Pick<IdentityStore, 'getIdentifiers' | 'getProfilesAndAccounts' | 'getAccount'>;
  /** Segment's Profile API for someone the cache does not know; unset: off. */
  readThrough?: ProfileReadThrough | undefined;
  /** SEGMENT_SPACE_ID: other spaces are not found; unset: any space. */
  spaceId?: string | undefined;
  maxIdentifierBytes: number;
  observability: Observability;
}

const USER_RESOURCES = new Set(['traits', 'external_ids', 'links', 'metadata']);
const ACCOUNT_RESOURCES = new Set(['traits', 'links']);

/** Profiles are personal data: never kept by a browser, proxy or CDN. */
const HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

/** HTTP Basic's user name as the API key (Segment's convention: the token as user, empty password). */
export function withBasicKey(event: HttpEvent): HttpEvent {
  const match = /^Basic\s+(\S+)$/i.exec(event.headers?.authorization?.trim() ?? '');
  if (!match) return event;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? decoded : decoded.slice(0, colon);
  const { authorization: _, ...headers } = event.headers ?? {};
  return { ...event, headers: user ? { ...headers, 'x-api-key': user } : headers };
}

/** `type:value` → the identifier, checked and normalised; an id without a type is Segment's own (not kept). */
function identifierOf(id: string | undefined, maxBytes: number): Identifier {
  const at = id?.indexOf(':') ?? -1;
  if (!id || at <= 0) throw notFound();
  const type = id.slice(0, at);
  const value = id.slice(at + 1);
  const problem =
    identifierValueProblem('type', type, 128) ?? identifierValueProblem('value', value, maxBytes);
  if (problem || value.trim() === '') {
    throw new ProfileApiError(
      400,
      'validation_error',
      `The id \`${type}:…\` is not valid: ${problem ?? 'empty value'}.`,
    );
  }
  return normalizeIdentifier({ type, value });
}

function segmentError(error: unknown, observability: Observability): HttpResult {
  if (error instanceof ProfileApiError)
    return json(error.status, { error: { code: error.code, message: error.message } });
  if (
    error instanceof CrosswalkError &&
    (error.kind === 'unauthenticated' || error.kind === 'not-permitted')
  ) {
    return json(401, {
      error: { code: 'authentication_error', message: `${error.message} (an operator key reads profiles)` },
    });
  }
  if (error instanceof CrosswalkError && error.kind === 'invalid-request')
    return json(400, { error: { code: 'validation_error', message: error.message } });
  observability.logger.error('request failed', { error });
  if (isTransient(error)) {
    return json(
      503,
      { error: { code: 'server_error', message: 'A dependency is temporarily unavailable; retry later' } },
      { 'retry-after': '1' },
    );
  }
  return json(500, { error: { code: 'server_error', message: 'Internal server error' } });
}

export function createProfileReadsHandler(deps: ProfileReadsDependencies): LambdaHttpHandler {
  const { store } = deps;

  async function person(identifier: Identifier): Promise<ProfileState | null> {
    const found = (await store.getIdentifiers([identifier], { consistent: false })).values().next().value;
    if (!found || found.expired) return null;
    const { profiles } = await store.getProfilesAndAccounts([found.profileId], []);
    const profile = profiles.get(found.profileId);
    return profile && !profile.expired ? profile.state : null;
  }

  /** The request's space, identifier and resource, checked before anything is read. */
  async function checked(event: HttpEvent, resources: ReadonlySet<string>) {
    const caller = await deps.authenticate(withBasicKey(event), 'admin');
    const { space, id, resource = '' } = event.pathParameters ?? {};
    if (deps.spaceId && space !== deps.spaceId)
      throw new ProfileApiError(404, 'not_found', 'Space was not found.');
    if (resource === 'events') {
      throw new ProfileApiError(
        404,
        'not_found',
        'Crosswalk does not serve /events (docs/profile-api.md); ask Segment.',
      );
    }
    if (!resources.has(resource)) throw new ProfileApiError(404, 'not_found', `No resource \`${resource}\`.`);
    const identifier = identifierOf(id, deps.maxIdentifierBytes);
    // Who read which kind of profile data, never what: no identifier value, no key.
    deps.observability.logger.info('profile read', {
      key: caller.fingerprint,
      route: event.routeKey,
      identifierType: identifier.type,
      resource,
    });
    const query = new URLSearchParams(event.rawQueryString ?? '');
    return { identifier, resource, query, url: event.rawPath };
  }

  const segmentShaped =
    (operation: (event: HttpEvent) => Promise<unknown>) =>
    async (event: HttpEvent): Promise<HttpResult> => {
      try {
        return json(200, await operation(event));
      } catch (error) {
        return segmentError(error, deps.observability);
      }
    };

  const serve = routeOperations<unknown>('profile-reads', {
    users: segmentShaped(async (event) => {
      const { identifier, resource, query, url } = await checked(event, USER_RESOURCES);
      let profile = await person(identifier);
      if (!profile && deps.readThrough) {
        const learned = await deps.readThrough.resolve([identifier]);
        if (learned.profile) profile = await person(identifier);
      }
      if (!profile) throw notFound();
      if (resource === 'traits') return userTraits(profile, query, url);
      if (resource === 'external_ids') return externalIds(profile, query, url);
      if (resource === 'links') return userLinks(profile);
      return metadata(profile);
    }),
    accounts: segmentShaped(async (event) => {
      const { identifier, resource, query, url } = await checked(event, ACCOUNT_RESOURCES);
      if (identifier.type !== 'group_id') throw notFound();
      const accountId = identifier.value;
      const account = await store.getAccount(accountId);
      if (!account || account.expired) throw notFound();
      if (resource === 'traits') return accountTraits(account.state, query, url);
      // Its listed members, earliest first; one whose profile expired is skipped.
      const memberIds = Object.entries(account.state.members ?? {})
        .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : 1))
        .map(([id]) => id);
      const { profiles } = await store.getProfilesAndAccounts(memberIds, []);
      const members = memberIds
        .map((id) => profiles.get(id))
        .filter((p) => p !== undefined && !p.expired && own(p.state.accounts, accountId) !== undefined)
        .map((p) => p!.state);
      return accountLinks(members);
    }),
  });

  const handler = httpHandler((event) => serve(event, undefined), deps.observability);
  return async (event, context) => {
    const result = await handler(event, context);
    const requestId = String(result.headers?.['x-request-id'] ?? context.awsRequestId);
    return { ...result, headers: { ...result.headers, ...HEADERS, 'request-id': requestId } };
  };
}
