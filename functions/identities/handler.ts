/** GET /v1/identities/{type}/{value}: one profile of the identity cache as JSON, for people and tools. */
import { InvalidRequestError, NotFoundError } from '../core/errors';
import * as z from '../core/zod';
import { json } from '../http/api-gateway';
import type { Authenticate } from '../http/auth';
import { httpHandler, type LambdaHttpHandler } from '../http/http-handler';
import { routeOperations } from '../http/operations';
import type { ExperimentIds } from '../identity/experiment-id';
import { normalizeIdentifier } from '../identity/identifiers';
import type { DescribedProfile, IdentityDescriber } from '../identity/reader';
import type { Observability } from '../observability/logger';
import { identityPathSchema } from './schema';

export interface IdentitiesDependencies {
  authenticate: Authenticate;
  maxIdentifierBytes: number;
  identities: IdentityDescriber;
  experimentIds: ExperimentIds;
  observability: Observability;
}

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

export function createIdentitiesHandler(deps: IdentitiesDependencies): LambdaHttpHandler {
  const pathSchema = identityPathSchema(deps.maxIdentifierBytes);
  return httpHandler(
    routeOperations('identities', {
      describe: async (event) => {
        const caller = await deps.authenticate(event, 'admin');
        // HTTP APIs deliver path parameters decoded once already: never decode them again.
        const params = pathSchema.safeParse({
          type: event.pathParameters?.type,
          value: event.pathParameters?.value,
        });
        if (!params.success) throw new InvalidRequestError(z.describeIssues(params.error, 'path'));
        const identifier = normalizeIdentifier(params.data);
        // Who read which kind of profile data, never what: no identifier value, no key.
        deps.observability.logger.info('profile read', {
          key: caller.fingerprint,
          route: event.routeKey,
          identifierType: identifier.type,
        });
        const profile = await deps.identities.describe(identifier);
        if (!profile)
          throw new NotFoundError(`No profile is known for ${params.data.type} ${params.data.value}`);
        return json(200, await describedAnswer(profile, deps.experimentIds));
      },
    }),
    deps.observability,
  );
}
