/**
 * Agent's REST user profile service plugin (plugins/userprofileservice, `rest`): Agent keeps its
 * sticky bucketing here, under the person's experiment id (docs/agent-compatibility.md). A lookup
 * or save: POST with a JSON body, or GET with a query.
 */
import { lookupProfile, saveProfile } from '../../../src/agent/state-operations';
import { dict } from '../../../src/platform/core/dict';
import { goMap } from '../../../src/platform/core/go-json';
import { json } from '../../../src/platform/http/api-gateway';
import { type AgentOperation, parseBody, profileRequest } from '../request';
import { restProfileRequest } from '../schema';

const restProfile =
  (save: boolean): AgentOperation =>
  async (api, event, caller) => {
    const { decisions, limits } = api.deps;
    const [project, { userIdKey, userId, buckets }] = await profileRequest(api, event, caller, save, () => {
      const params =
        event.requestContext.http.method === 'GET'
          ? Object.fromEntries(new URLSearchParams(event.rawQueryString ?? ''))
          : parseBody(api, api.schemas.restProfile, event);
      return restProfileRequest(params, limits, save);
    });
    if (buckets)
      await saveProfile(decisions, {
        ...project,
        userId,
        experimentBucketMap: dict(Object.entries(buckets)),
      });
    const profile = buckets ?? (await lookupProfile(decisions, { ...project, userId })).experimentBucketMap;
    // What the plugin reads back: the user id as a string under its key, and every entry with a
    // string variation id (the plugin's Go code panics on any other entry).
    const entries = Object.entries(profile).filter(
      ([, entry]) => typeof entry?.variation_id === 'string' && entry.variation_id !== '',
    );
    return json(200, {
      [userIdKey]: userId,
      experiment_bucket_map: goMap(
        dict(entries.map(([id, entry]) => [id, { variation_id: entry.variation_id }])),
      ),
    });
  };

export const restProfileLookup = restProfile(false);
export const restProfileSave = restProfile(true);
