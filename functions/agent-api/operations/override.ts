/** Agent's POST /v1/override: an operator pins a person's variation of an experiment (ENABLE_OVERRIDES). */
import { overrideForRequest } from '../../../src/agent/state-operations';
import { InvalidRequestError, NotPermittedError } from '../../../src/platform/core/errors';
import { json } from '../../../src/platform/http/api-gateway';
import { type AgentOperation, checkedRequest, parseBody, requireOperator } from '../request';

export const override: AgentOperation = async (api, event, caller) => {
  if (!api.deps.decisions.agentState.overrides) {
    throw new NotPermittedError('Overrides not enabled', {
      detail: 'Set ENABLE_OVERRIDES=true to allow them',
    });
  }
  requireOperator(caller, 'Setting an override');
  const [project, body] = await checkedRequest(api, event, () => {
    const body = parseBody(api, api.schemas.override, event);
    if (body.userId === '') throw new InvalidRequestError('userId cannot be empty');
    if (body.experimentKey === '') throw new InvalidRequestError('experimentKey cannot be empty');
    return body;
  });
  return json(200, await overrideForRequest(api.deps.decisions, { ...project, ...body }));
};
