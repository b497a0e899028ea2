/** GET /v1/identities/{type}/{value}: one profile of the identity cache as JSON, for people and tools. */
import { InvalidRequestError, NotFoundError } from '../core/errors';
import * as z from '../core/zod';
import { json } from '../http/api-gateway';
import type { ApiKeyCheck } from '../http/auth';
import { httpHandler, type LambdaHttpHandler } from '../http/http-handler';
import { routeOperations } from '../http/operations';
import type { IdentityDescriber } from '../identity/reader';
import type { Observability } from '../observability/logger';
import { identityPathSchema } from './schema';

export interface IdentitiesDependencies {
  checkApiKey: ApiKeyCheck;
  identities: IdentityDescriber;
  observability: Observability;
}

function decoded(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function createIdentitiesHandler(deps: IdentitiesDependencies): LambdaHttpHandler {
  return httpHandler(
    routeOperations('identities', {
      describe: async (event) => {
        await deps.checkApiKey(event);
        const params = identityPathSchema.safeParse({
          type: decoded(event.pathParameters?.type),
          value: decoded(event.pathParameters?.value),
        });
        if (!params.success) throw new InvalidRequestError(z.describeIssues(params.error, 'path'));
        const profile = await deps.identities.describe(params.data);
        if (!profile)
          throw new NotFoundError(`No profile is known for ${params.data.type} ${params.data.value}`);
        return json(200, profile);
      },
    }),
    deps.observability,
  );
}
