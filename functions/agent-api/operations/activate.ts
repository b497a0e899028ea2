/** Agent's POST /v1/activate: experiments and features chosen by the query, for the person the body names. */
import { activateForRequest } from '../../../src/agent/service';
import { json, queryAll } from '../../../src/platform/http/api-gateway';
import { type AgentOperation, checkedRequest, parseBody, userIdOf } from '../request';

export const activate: AgentOperation = async (api, event, caller) => {
  const [project, { body, userId }] = await checkedRequest(api, event, () => {
    const body = parseBody(api, api.schemas.activate, event);
    return { body, userId: userIdOf(body.userId, body.identifiers) };
  });
  const enabled = queryAll(event, 'enabled')[0];
  const answers = await activateForRequest(api.deps.decisions, {
    ...project,
    userId,
    identifiers: body.identifiers,
    userAttributes: body.userAttributes,
    operator: caller.admin,
    query: {
      types: queryAll(event, 'type'),
      experimentKeys: queryAll(event, 'experimentKey'),
      featureKeys: queryAll(event, 'featureKey'),
      disableTracking: queryAll(event, 'disableTracking')[0] === 'true',
      enabled: enabled === 'true' ? true : enabled === 'false' ? false : undefined,
    },
  });
  return json(200, answers);
};
