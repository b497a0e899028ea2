/** GET /v1/identities/{type}/{value}: one profile of the identity cache as JSON, for people and tools. */
import { json } from '../http/api-gateway';
import { requireApiKey } from '../http/auth';
import { BadRequestError, NotFoundError } from '../http/errors';
import { httpHandler } from '../http/http-handler';
import { identityReader } from '../identity/reader';
import { identityPathSchema } from './schema';

function decoded(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export const handler = httpHandler(async (event) => {
  await requireApiKey(event);
  const params = identityPathSchema.safeParse({
    type: decoded(event.pathParameters?.type),
    value: decoded(event.pathParameters?.value),
  });
  if (!params.success) throw new BadRequestError(params.error.issues[0]?.message ?? 'invalid path');
  const profile = await identityReader().describe(params.data);
  if (!profile) throw new NotFoundError(`No profile is known for ${params.data.type} ${params.data.value}`);
  return json(200, profile);
});
