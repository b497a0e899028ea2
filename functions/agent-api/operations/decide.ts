/** Agent's POST /v1/decide: the flags of `keys` (all when none) for the person the body names. */
import { DECIDE_OPTIONS, type DecideOptionName } from '../../../src/agent/decide';
import { decideForRequest } from '../../../src/agent/service';
import { InvalidRequestError } from '../../../src/platform/core/errors';
import { isPromise } from '../../../src/platform/core/maybe-promise';
import { json, queryValues } from '../../../src/platform/http/api-gateway';
import {
  type AgentOperation,
  checkedRequest,
  includeIdentity,
  parseBody,
  requireOperator,
  userIdOf,
} from '../request';

const isDecideOption = (name: string): name is DecideOptionName =>
  (DECIDE_OPTIONS as readonly string[]).includes(name);

export const decide: AgentOperation = async (api, event, caller) => {
  const { limits, decisions } = api.deps;
  // A warm decide (project and person held, nothing to read or store) awaits nothing.
  const checked = checkedRequest(api, event, () => {
    const body = parseBody(api, api.schemas.decide, event, { fast: api.schemas.decideFast });
    const userId = userIdOf(body.userId, body.identifiers);
    const options = body.decideOptions.map((name) => {
      if (!isDecideOption(name)) throw new InvalidRequestError(`invalid option: ${name}`);
      return name;
    });
    if (options.includes('READ_ONLY')) requireOperator(caller, 'The READ_ONLY decide option');
    // It empties every person's cached prediction in the container, not only the caller's.
    if (options.includes('RESET_CMAB_CACHE')) requireOperator(caller, 'The RESET_CMAB_CACHE decide option');
    const keys = queryValues(event, 'keys');
    if (keys.length > limits.maxDecideKeys) {
      throw new InvalidRequestError(
        `keys: ${keys.length} given, at most ${limits.maxDecideKeys} per request (MAX_DECIDE_KEYS)`,
      );
    }
    return { body, userId, options, keys };
  });
  const [project, { body, userId, options, keys }] = isPromise(checked) ? await checked : checked;
  const deciding = decideForRequest(decisions, {
    ...project,
    keys,
    userId,
    identifiers: body.identifiers,
    userAttributes: body.userAttributes,
    decideOptions: options,
    forcedDecisions: body.forcedDecisions,
    // A client key's answer carries nothing its request did not send (docs/api.md).
    operator: caller.admin,
    includeIdentity: includeIdentity(event, body),
  });
  const found = isPromise(deciding) ? await deciding : deciding;
  // Agent: one key → one decision object; several or none → an array.
  return json(200, keys.length === 1 ? found[0] : found);
};
