/** Agent's POST /v1/lookup: a person's saved user profile (sticky bucketing), for operators. */
import { MISSING_USER_ID } from '../../../src/agent/person';
import { lookupProfile } from '../../../src/agent/state-operations';
import { InvalidRequestError } from '../../../src/platform/core/errors';
import { json } from '../../../src/platform/http/api-gateway';
import { type AgentOperation, parseBody, profileRequest } from '../request';

export const lookup: AgentOperation = async (api, event, caller) => {
  const [project, body] = await profileRequest(api, event, caller, false, () => {
    const body = parseBody(api, api.schemas.lookup, event);
    if (body.userId === '') throw new InvalidRequestError(MISSING_USER_ID);
    return body;
  });
  return json(200, await lookupProfile(api.deps.decisions, { ...project, userId: body.userId }));
};
