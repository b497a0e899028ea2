/**
 * The decide/track/activate use cases: resolve the person (person.ts), build the attributes,
 * run the project's Optimizely client, and hand its events to the delivery path (events/delivery.ts):
 * decide and track answer once their events are stored for the relay, never waiting for
 * Optimizely's event API. Dependencies come from the decide entry point
 * (functions/agent-api/dependencies.ts).
 *
 * Over 300 lines on purpose: decide, activate and track share private steps (honoured state, who may
 * save a profile, what is stored before the answer) that would otherwise have to be exported.
 */

import type { EventDelivery } from '../events/delivery';
import type { EventBatch } from '../events/event-batch';
import { type Identifier, identifierListKey } from '../identity/identifiers';
import { isPersonalIdentifier } from '../identity/personal-values';
import { qualifiesForExperiment } from '../optimizely/audiences';
import { type Decided, withoutProfile } from '../optimizely/decision-scope';
import type { CapturingEventDispatcher } from '../optimizely/event-dispatcher';
import type { Project, ProjectRegistry } from '../optimizely/projects';
import { isPromise, type MaybePromise } from '../platform/core/maybe-promise';
import type { Observability } from '../platform/observability/logger';
import { type ActivateQuery, type AgentActivation, activateKeys, selectKeys } from './activate';
import {
  type AgentState,
  decideWithState,
  honourEntries,
  type LoadedState,
  loadState,
  storeProfile,
} from './agent-state';
import {
  type AttributeInput,
  type Attributes,
  buildAttributes,
  requestChangesAttributes,
  storedAttributes,
} from './attributes';
import {
  type AgentDecision,
  type DecideOptionName,
  decideFlags,
  type ForcedDecision,
  type Person,
  type TrackAnswer,
  trackEvent,
} from './decide';
import { type PersonDependencies, type PersonRequest, type ProjectRequest, projectAndPerson } from './person';
import type { ExperimentBucketMap } from './stores';

/** What the decide, track and activate use cases need; built by functions/agent-api/dependencies.ts. */
export interface DecisionDependencies extends PersonDependencies {
  projects: ProjectRegistry;
  dispatcher: CapturingEventDispatcher;
  events: EventDelivery;
  /** Overrides and the user profile service (each off unless enabled). */
  agentState: AgentState;
  observability: Observability;
}

function attributeInput(
  deps: DecisionDependencies,
  project: Project,
  person: Person,
  request: PersonRequest,
): AttributeInput {
  return {
    profile: person.profile,
    requestAttributes: request.userAttributes,
    declared: project.forwardedAttributes,
    accountPrefix: deps.settings.accountPrefix,
    allowReserved: deps.settings.allowReserved,
  };
}

function attributesFor(
  deps: DecisionDependencies,
  project: Project,
  person: Person,
  request: PersonRequest,
): Attributes {
  return buildAttributes(attributeInput(deps, project, person, request));
}

export interface DecideRequest extends PersonRequest, ProjectRequest {
  keys: readonly string[];
  decideOptions: readonly DecideOptionName[];
  forcedDecisions: readonly ForcedDecision[];
  /** Add Crosswalk's `identity` block to each decision. */
  includeIdentity: boolean;
}

/**
 * The saved profiles a decide may need, read while the person is (resolvePerson's `whileReading`),
 * so that a person not in the container's caches costs one round trip, not two: those of the
 * experiment ids the person may turn out to have (the id this container last resolved these
 * identifiers to, and each non-personal identifier's own value, which is the id of a person anchored
 * on it). The reads are cached (agent-state.ts), so the decide finds them. A person the container
 * holds is not read, and costs none of this.
 */
function prefetchProfiles(deps: DecisionDependencies, sdkKey: string, ordered: Identifier[]): void {
  const profiles = deps.agentState.profiles;
  if (!profiles) return;
  const candidates = new Set<string>();
  const known = deps.lastExperimentIds?.get(identifierListKey(ordered));
  if (known !== undefined) candidates.add(known);
  for (const identifier of ordered) {
    if (!isPersonalIdentifier(deps.settings.rules, identifier)) candidates.add(identifier.value);
  }
  profiles.store.prefetch(sdkKey, candidates);
}

/**
 * Decides; the decision events are stored before the answer and delivered by the relay. A request
 * that dispatched nothing (DISABLE_DECISION_EVENT, no experiment) takes no extra step, and one for
 * a project and person the container holds, with nothing to read, answers at once (no await).
 * Every failure is a rejection, never a throw.
 */
export function decideForRequest(
  deps: DecisionDependencies,
  request: DecideRequest,
): MaybePromise<AgentDecision[]> {
  try {
    const useProfile = !request.decideOptions.includes('IGNORE_USER_PROFILE_SERVICE');
    // The project's overrides are keyed by SDK key alone: their read goes with the person's.
    deps.agentState.overrides?.prefetch(request.sdkKey);
    const both = projectAndPerson(deps, request, request, {
      failOpen: true,
      whileReading:
        useProfile && deps.agentState.profiles
          ? (ordered) => prefetchProfiles(deps, request.sdkKey, ordered)
          : undefined,
    });
    return isPromise(both)
      ? both.then(([project, person]) => decideForPerson(deps, request, useProfile, project, person))
      : decideForPerson(deps, request, useProfile, both[0], both[1]);
  } catch (error) {
    return Promise.reject(error);
  }
}

function decideForPerson(
  deps: DecisionDependencies,
  request: DecideRequest,
  useProfile: boolean,
  project: Project,
  person: Person,
): MaybePromise<AgentDecision[]> {
  const attributes = attributesFor(deps, project, person, request);
  const loading = loadState(deps.agentState, request.sdkKey, person.experimentId, useProfile);
  const decide = (loaded: LoadedState) =>
    decideAndStore(
      deps,
      { project, person, request, loaded, forced: request.forcedDecisions.length > 0 },
      () =>
        decideFlags(project, person, {
          keys: request.keys,
          attributes,
          shownAttributes: request.operator ? undefined : request.userAttributes,
          options: request.decideOptions,
          forcedDecisions: request.forcedDecisions,
          accountBucketedFlags: deps.settings.accountBucketedFlags,
          includeIdentity: request.operator && request.includeIdentity,
          withReasons: request.operator,
        }),
      mayAwaitFor(project, request.keys),
    );
  return isPromise(loading) ? loading.then(decide) : decide(loading);
}

/**
 * Runs one decision with the person's honoured saved entries and overrides, then stores what it
 * changed (the user profile, if this caller may save it) and its events before the answer.
 */
function decideAndStore<T>(
  deps: DecisionDependencies,
  on: {
    project: Project;
    person: Person;
    request: PersonRequest & ProjectRequest;
    loaded: LoadedState;
    forced: boolean;
  },
  decide: () => MaybePromise<T>,
  mayAwait: boolean,
): MaybePromise<T> {
  const { project, person, request, loaded } = on;
  const state = honouredFor(deps, project, person, request, loaded);
  const decided = decideWithState(
    deps.agentState,
    project.client,
    person.experimentId,
    state,
    decide,
    mayAwait,
  );
  // Awaited only when a CMAB flag made the decision asynchronous or something is written: the
  // common warm decide pays no tick here.
  const finish = ({ result, saved, batches }: Decided<T>): MaybePromise<T> => {
    const stored = saved && mayStoreProfile(deps, project, person, request, on.forced) ? saved : null;
    const writes = storeAfterDecision(deps, request.sdkKey, person.experimentId, stored, loaded, batches);
    return writes ? writes.then(() => result) : result;
  };
  return isPromise(decided) ? decided.then(finish) : finish(decided);
}

/** Whether deciding `keys` (none: every flag) may await a CMAB prediction. */
function mayAwaitFor(project: Project, keys: readonly string[]): boolean {
  if (project.cmabFlags.size === 0) return false;
  return keys.length === 0 || keys.some((key) => project.cmabFlags.has(key));
}

/**
 * The saved entries a decision honours: all of them for an operator key, as Agent does; for a
 * client key, only those whose experiment's audiences the attributes Crosswalk itself holds still
 * qualify for, so no entry can keep a person in an experiment the datafile's rules no longer give
 * them (docs/agent-compatibility.md#sticky-bucketing-and-client-keys).
 */
function honouredFor(
  deps: DecisionDependencies,
  project: Project,
  person: Person,
  request: PersonRequest,
  loaded: LoadedState,
): LoadedState {
  if (request.operator || loaded.profile === null) return loaded;
  const held = storedAttributes(attributeInput(deps, project, person, request));
  return honourEntries(loaded, (experimentId) => qualifiesForExperiment(project, experimentId, held));
}

/**
 * Whether a decision may store the profile the SDK changed: never in READ_ONLY; always for an
 * operator key; for a client key, only when nothing the caller supplied (attributes the SDK was
 * given, forced decisions) could have shaped it, so no caller can write another person's future.
 */
function mayStoreProfile(
  deps: DecisionDependencies,
  project: Project,
  person: Person,
  request: PersonRequest & { decideOptions?: readonly DecideOptionName[] },
  forced: boolean,
): boolean {
  if (request.decideOptions?.includes('READ_ONLY')) return false;
  if (request.operator) return true;
  return !forced && !requestChangesAttributes(attributeInput(deps, project, person, request));
}

/**
 * What a decision writes before its answer: the profile the SDK changed (when it may be stored) and
 * the decision events for the relay (one PutItem). The two are independent, so they go together: one
 * round trip, not two. A decision that writes neither pays no await.
 */
function storeAfterDecision(
  deps: DecisionDependencies,
  sdkKey: string,
  userId: string,
  saved: ExperimentBucketMap | null,
  loaded: Pick<LoadedState, 'stored'>,
  batches: EventBatch[],
): Promise<unknown> | undefined {
  const profileWrite = storeProfile(deps.agentState, sdkKey, userId, saved, loaded);
  const eventsWrite = batches.length > 0 ? deps.events.beforeDecideAnswer(batches) : undefined;
  if (!profileWrite || !eventsWrite) return profileWrite ?? eventsWrite;
  // Both settle before the answer (or the error a failed profile write makes): the events are on
  // disk by then either way.
  return Promise.allSettled([profileWrite, eventsWrite]).then(([profile]) => {
    if (profile.status === 'rejected') throw profile.reason;
  });
}

export interface TrackRequest extends PersonRequest, ProjectRequest {
  eventKey: string;
  eventTags: Record<string, string | number | boolean | null>;
  includeIdentity: boolean;
}

/**
 * Tracks; answers once the conversion is stored for delivery (or, if storing failed, delivered).
 * Only a failure of both is a retryable error.
 */
export async function trackForRequest(
  deps: DecisionDependencies,
  request: TrackRequest,
): Promise<TrackAnswer> {
  const [project, person] = await projectAndPerson(deps, request, request, { failOpen: true });
  const attributes = attributesFor(deps, project, person, request);
  const captured = deps.dispatcher.capture(() =>
    trackEvent(
      project,
      person,
      request.eventKey,
      attributes,
      request.eventTags,
      request.operator && request.includeIdentity,
    ),
  );
  // Awaited only when a CMAB flag made the decision asynchronous: the common one pays no tick.
  const { result, batches } = isPromise(captured) ? await captured : captured;
  if (batches.length > 0) await deps.events.beforeTrackAnswer(batches);
  return result;
}

export interface ActivateRequest extends PersonRequest, ProjectRequest {
  query: ActivateQuery;
}

/** Agent's legacy activate; its impressions go the way of decide's events. */
export async function activateForRequest(
  deps: DecisionDependencies,
  request: ActivateRequest,
): Promise<AgentActivation[]> {
  const [project, person] = await projectAndPerson(deps, request, request, { failOpen: true });
  const selected = selectKeys(project, request.query);
  const attributes = attributesFor(deps, project, person, request);
  const loaded = await loadState(deps.agentState, request.sdkKey, person.experimentId, true);
  return decideAndStore(
    deps,
    { project, person, request, loaded, forced: false },
    () =>
      activateKeys(
        project,
        person,
        selected,
        request.query,
        attributes,
        deps.settings.accountBucketedFlags,
        withoutProfile,
      ),
    project.cmabFlags.size > 0,
  );
}
