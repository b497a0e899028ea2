/**
 * The identities routes: one profile of the identity cache as JSON, for people and tools, found by
 * one identifier. `POST /v1/identities/lookup` takes it in the body (`{"type", "value"}`), so no
 * identifier lands in a URL, browser history or access log; `GET /v1/identities/{type}/{value}` is
 * kept for compatibility. Both go through one describe path: same checks, same answer, same log line.
 */

import type { ExperimentIds } from '../../src/identity/experiment-id';
import { normalizeIdentifier } from '../../src/identity/identifiers';
import type { DescribedProfile, IdentityDescriber } from '../../src/identity/reader';
import { InvalidRequestError, NotFoundError } from '../../src/platform/core/errors';
import * as z from '../../src/platform/core/zod';
import { type HttpEvent, json, jsonBody } from '../../src/platform/http/api-gateway';
import type { Authenticate } from '../../src/platform/http/auth';
import { httpHandler, type LambdaHttpHandler } from '../../src/platform/http/http-handler';
import { routeOperations } from '../../src/platform/http/operations';
import { withResponseHeaders } from '../../src/platform/http/response-headers';
import type { Observability } from '../../src/platform/observability/logger';
import type { ProfileReadThrough } from '../../src/profile-api/read-through';
import { identifierSchema } from './schema';

export interface IdentityLookupDependencies {
  authenticate: Authenticate;
  maxIdentifierBytes: number;
  /** Cap of a lookup body (MAX_BODY_BYTES), checked before it is parsed. */
  maxBodyBytes: number;
  identities: IdentityDescriber;
  experimentIds: ExperimentIds;
  observability: Observability;
  /** Segment's Profile API for someone the cache does not know (docs/profile-api.md); unset: off. */
  readThrough?: ProfileReadThrough | undefined;
}

/**
 * Profiles are personal data: no browser, proxy or CDN may keep a copy of any answer (404s name the
 * identifier too), and no browser may guess another type for the JSON.
 */
const PERSONAL_DATA_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

/**
 * The profile as the identities routes answer it: the stable experiment id (`canonicalId`) and how
 * it was chosen, the user id, every identifier with its first sighting, traits, audiences, accounts.
 */
async function describedAnswer(profile: DescribedProfile, experimentIds: ExperimentIds) {
  const choice = await experimentIds.ofProfile(profile);
  return {
    canonicalId: choice.id,
    canonicalIdFrom: { type: choice.fromType, digested: choice.digested, rule: choice.rule },
    userId: profile.userId,
    identifiers: profile.identifiers.map(({ type, value, firstSeen }) =>
      firstSeen === undefined
        ? { type, value }
        : { type, value, firstSeen: new Date(firstSeen).toISOString() },
    ),
    traits: profile.traits,
    audiences: profile.audiences,
    accounts: profile.accounts,
    primaryAccountId: profile.primaryAccountId,
  };
}

export function createIdentityLookupHandler(deps: IdentityLookupDependencies): LambdaHttpHandler {
  const schema = identifierSchema(deps.maxIdentifierBytes);

  /** The one describe path: `requested` is the path's or the body's `{type, value}`, unchecked. */
  const describe = async (
    event: HttpEvent,
    fingerprint: string | null,
    requested: unknown,
    where: string,
  ) => {
    const parsed = schema.safeParse(requested);
    if (!parsed.success) throw new InvalidRequestError(z.describeIssues(parsed.error, where));
    const identifier = normalizeIdentifier(parsed.data);
    // Who read which kind of profile data, never what: no identifier value, no key.
    deps.observability.logger.info('profile read', {
      key: fingerprint,
      route: event.routeKey,
      identifierType: identifier.type,
    });
    let profile = await deps.identities.describe(identifier);
    if (!profile && deps.readThrough) {
      const learned = await deps.readThrough.resolve([identifier]);
      if (learned.profile) profile = await deps.identities.describe(identifier);
    }
    if (!profile) throw new NotFoundError(`No profile is known for ${parsed.data.type} ${parsed.data.value}`);
    return json(200, await describedAnswer(profile, deps.experimentIds));
  };

  return withResponseHeaders(
    httpHandler(
      routeOperations('identity-lookup', {
        describe: async (event) => {
          const caller = await deps.authenticate(event, 'admin');
          // HTTP APIs deliver path parameters decoded once already: never decode them again.
          const { type, value } = event.pathParameters ?? {};
          return describe(event, caller.fingerprint, { type, value }, 'path');
        },
        lookup: async (event) => {
          // The key first: nobody without an operator key learns what a body may hold.
          const caller = await deps.authenticate(event, 'admin');
          return describe(event, caller.fingerprint, jsonBody(event, deps.maxBodyBytes), 'body');
        },
      }),
      deps.observability,
    ),
    PERSONAL_DATA_HEADERS,
  );
}
