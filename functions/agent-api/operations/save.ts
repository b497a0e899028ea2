/** Agent's POST /v1/save: an operator writes a person's user profile (sticky bucketing). */
import { MISSING_USER_ID } from '../../../src/agent/person';
import { saveProfile } from '../../../src/agent/state-operations';
import { dict } from '../../../src/platform/core/dict';
import { InvalidRequestError } from '../../../src/platform/core/errors';
import { type AgentOperation, parseBody, profileRequest } from '../request';

export const save: AgentOperation = async (api, event, caller) => {
  const [project, body] = await profileRequest(api, event, caller, true, () => {
    const body = parseBody(api, api.schemas.save, event);
    if (body.userId === '') throw new InvalidRequestError(MISSING_USER_ID);
    return body;
  });
  const buckets: Record<string, { variation_id: string }> = {};
  for (const [experimentId, entry] of Object.entries(body.experimentBucketMap)) {
    // Like Agent, entries that are not objects are skipped.
    if (typeof entry === 'object' && entry !== null) {
      buckets[experimentId] = { variation_id: (entry as { variation_id: string }).variation_id };
    }
  }
  await saveProfile(api.deps.decisions, {
    ...project,
    userId: body.userId,
    experimentBucketMap: dict(Object.entries(buckets)),
  });
  // Agent answers a save with a bare 200.
  return { statusCode: 200, body: '' };
};
