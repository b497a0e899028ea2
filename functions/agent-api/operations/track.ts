/** Agent's POST /v1/track: a conversion of `eventKey` for the person the body names. */
import { trackForRequest } from '../../../src/agent/service';
import { InvalidRequestError } from '../../../src/platform/core/errors';
import { json, queryAll } from '../../../src/platform/http/api-gateway';
import { type AgentOperation, checkedRequest, includeIdentity, parseBody, userIdOf } from '../request';

export const track: AgentOperation = async (api, event, caller) => {
  const [project, { body, eventKey, userId }] = await checkedRequest(api, event, () => {
    const body = parseBody(api, api.schemas.track, event);
    // Agent reads the event key as given (a key with spaces is simply not found).
    const eventKey = queryAll(event, 'eventKey')[0];
    if (!eventKey) throw new InvalidRequestError('missing required path parameter: eventKey');
    return { body, eventKey, userId: userIdOf(body.userId, body.identifiers) };
  });
  const answer = await trackForRequest(api.deps.decisions, {
    ...project,
    eventKey,
    userId,
    identifiers: body.identifiers,
    userAttributes: body.userAttributes,
    eventTags: body.eventTags,
    operator: caller.admin,
    includeIdentity: includeIdentity(event, body),
  });
  return json(200, answer);
};
