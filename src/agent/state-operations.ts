/**
 * Optimizely Agent's per-user state operations for one person: set or remove an override (POST
 * /v1/override), and read or replace their saved profile (POST /v1/lookup and /v1/save), each for
 * the person the request's user id resolves to.
 */
import type { AgentState } from './agent-state';
import { type PersonDependencies, type ProjectRequest, projectAndPerson } from './person';
import type { ExperimentBucketMap } from './stores';

/** What the state operations need; built by functions/agent-api/dependencies.ts. */
export interface StateDependencies extends PersonDependencies {
  agentState: AgentState;
}

export interface OverrideRequest extends ProjectRequest {
  userId: string;
  experimentKey: string;
  /** Empty: remove the override. */
  variationKey: string;
}

/** Optimizely Agent's override answer, field for field and in its order. */
export interface OverrideAnswer {
  userId: string;
  experimentKey: string;
  variationKey: string;
  prevVariationKey: string;
  messages: string[] | null;
}

/**
 * Sets or removes one forced variation, for the person the user id resolves to, with Agent's
 * messages. Like Agent, an override naming an unknown experiment or variation is stored anyway
 * (a datafile published later may have it) and reported.
 */
export async function overrideForRequest(
  deps: StateDependencies,
  request: OverrideRequest,
): Promise<OverrideAnswer> {
  const overrides = deps.agentState.overrides;
  if (!overrides) throw new Error('overrides are not enabled');
  const [project, person] = await projectAndPerson(deps, request, {
    userId: request.userId,
    userAttributes: {},
    operator: true,
  });
  const answer: OverrideAnswer = {
    userId: request.userId,
    experimentKey: request.experimentKey,
    variationKey: request.variationKey,
    prevVariationKey: '',
    messages: null,
  };
  const messages: string[] = [];
  if (request.variationKey === '') {
    const { previous } = await overrides.remove(request.sdkKey, person.experimentId, request.experimentKey);
    answer.prevVariationKey = previous ?? '';
    messages.push(previous === null ? 'no pre-existing override' : 'removing previous override');
  } else {
    const experiment = project.config.experimentsMap[request.experimentKey];
    if (!experiment) messages.push('experimentKey not found in configuration');
    else if (!(request.variationKey in experiment.variationsMap))
      messages.push('variationKey not found in configuration');
    const { previous } = await overrides.set(
      request.sdkKey,
      person.experimentId,
      request.experimentKey,
      request.variationKey,
    );
    if (previous !== null) {
      answer.prevVariationKey = previous;
      messages.push('updating previous override');
    }
  }
  if (messages.length > 0) answer.messages = messages;
  return answer;
}

function profiles(deps: StateDependencies) {
  const enabled = deps.agentState.profiles;
  if (!enabled) throw new Error('the user profile service is not enabled');
  return enabled;
}

/** The saved bucketing of the person a user id resolves to (Agent's POST /v1/lookup). */
export async function lookupProfile(
  deps: StateDependencies,
  request: ProjectRequest & { userId: string },
): Promise<{ userId: string; experimentBucketMap: ExperimentBucketMap }> {
  const { store } = profiles(deps);
  const [, person] = await projectAndPerson(deps, request, {
    userId: request.userId,
    userAttributes: {},
    operator: true,
  });
  // Read from the table, not the container's copy: an operator looks at what is stored.
  const buckets = (await store.store.get(request.sdkKey, person.experimentId)) ?? {};
  return { userId: request.userId, experimentBucketMap: buckets };
}

/** Replaces the saved bucketing of the person a user id resolves to (Agent's POST /v1/save). */
export async function saveProfile(
  deps: StateDependencies,
  request: ProjectRequest & { userId: string; experimentBucketMap: ExperimentBucketMap },
): Promise<void> {
  const { store } = profiles(deps);
  const [, person] = await projectAndPerson(deps, request, {
    userId: request.userId,
    userAttributes: {},
    operator: true,
  });
  await store.put(request.sdkKey, person.experimentId, request.experimentBucketMap);
}
