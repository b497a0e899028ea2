/**
 * The decide/track use cases: resolve the person through the identity reader, build the attributes,
 * run the project's Optimizely client, and hand its events to the delivery path (events/delivery.ts):
 * decide and track answer once their events are stored for the relay, never waiting for
 * Optimizely's event API. Dependencies come from the decide entry point
 * (functions/agent-api/dependencies.ts).
 */

import type { EventDelivery } from '../events/delivery';
import type { EventBatch } from '../events/event-batch';
import type { ExperimentIds } from '../identity/experiment-id';
import { type Identifier, identifierListKey, normalizeIdentifier } from '../identity/identifiers';
import type { IdentityReader, ResolvedProfile } from '../identity/model';
import { isPersonalIdentifier } from '../identity/personal-values';
import type { IdentityRules } from '../identity/rules';
import { qualifiesForExperiment } from '../optimizely/audiences';
import { withoutProfile } from '../optimizely/decision-scope';
import type { CapturingEventDispatcher } from '../optimizely/event-dispatcher';
import type { Project, ProjectRegistry } from '../optimizely/projects';
import { NoIdentifierError } from '../platform/core/errors';
import type { LruCache } from '../platform/core/lru-cache';
import { isPromise, type MaybePromise } from '../platform/core/maybe-promise';
import type { Observability } from '../platform/observability/logger';
import type { ProfileReadThrough, ReadThroughWants } from '../profile-api/read-through';
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
  type PersonSource,
  type TrackAnswer,
  trackEvent,
} from './decide';
import { type FailOpenPolicy, type ReadOutcome, readOrFailOpen } from './fail-open';
import { requestIdentifiers } from './request-identifiers';
import type { ExperimentBucketMap } from './stores';

export interface DecisionSettings {
  accountBucketedFlags: readonly string[];
  accountPrefix: string;
  allowReserved: boolean;
  rules: IdentityRules;
}

export interface DecisionDependencies {
  identities: IdentityReader;
  experimentIds: ExperimentIds;
  projects: ProjectRegistry;
  dispatcher: CapturingEventDispatcher;
  events: EventDelivery;
  settings: DecisionSettings;
  /** Overrides and the user profile service (each off unless enabled). */
  agentState: AgentState;
  observability: Observability;
  /** Decide, track and activate go on without an identity read that failed (fail-open.ts); unset: they fail. */
  failOpen?: FailOpenPolicy;
  /** Segment's Profile API on a miss (docs/profile-api.md); unset: off. */
  readThrough?: ProfileReadThrough | undefined;
  /**
   * The experiment id each identifier list last resolved to in this container, kept past the identity
   * cache's TTL: which saved profile to read alongside the identity when the person is read again.
   * A guess, checked once the identity is read (a merge can change the id).
   */
  lastExperimentIds?: LruCache<string, string> | undefined;
}

export interface PersonRequest {
  userId?: string | undefined;
  identifiers?: Record<string, string> | undefined;
  userAttributes: Attributes;
  /**
   * True for an operator key: Optimizely Agent's answer in full, with Crosswalk's identity block
   * when asked. False for a client key, whose answer carries nothing it did not send
   * (docs/api.md, "What a client key gets").
   */
  operator: boolean;
}

/**
 * The project a request is for: its SDK key, and its project already loading (the entry point
 * starts the load before checking the body, so a cold container fetches the datafile while the
 * request is validated and the person resolved).
 */
export interface ProjectRequest {
  sdkKey: string;
  project: Promise<Project>;
}

/**
 * The project and the person, resolved together. An error of the project wins over one of the
 * person, as Agent checks the SDK key before anything else.
 */
async function projectAndPerson(
  deps: DecisionDependencies,
  request: ProjectRequest,
  person: PersonRequest,
  failOpen = false,
): Promise<[Project, Person]> {
  const resolving = resolvePerson(deps, person, { failOpen, project: request.project });
  if (isPromise(resolving)) resolving.catch(() => undefined);
  const project = await request.project;
  return [project, isPromise(resolving) ? await resolving : resolving];
}

/** Optimizely Agent's answer when a request names nobody. */
export const MISSING_USER_ID = 'missing "userId" in request payload';

/**
 * The person a request names: their profile when Segment knows them, and their experiment id. With
 * `failOpen`, an identity read that failed leaves the request's identifiers to decide on. Not in the
 * cache (and the cache answering), they may be learned from Segment's Profile API (`project`: whose
 * declared attributes to ask for). At once for a person the container holds (no read, no await);
 * a problem with the request is a rejection, never a throw, so the caller can let the project's
 * error win.
 */
export function resolvePerson(
  deps: DecisionDependencies,
  request: PersonRequest,
  options: { failOpen?: boolean; project?: Promise<Project> | undefined } = {},
): MaybePromise<Person> {
  try {
    const ordered: Identifier[] = requestIdentifiers(
      request.userId,
      request.identifiers,
      deps.settings.rules,
    );
    if (ordered.length === 0)
      throw new NoIdentifierError(MISSING_USER_ID, { detail: 'Send userId or at least one identifier' });
    // A person the container holds needs no read, so no budget (a timer) either.
    const held = deps.identities.held?.(ordered);
    if (held) {
      const choice = deps.experimentIds.ofProfile(held);
      if (!isPromise(choice)) return knownPerson(deps, request, ordered, held, choice.id, 'cache');
    }
    return readPerson(deps, request, ordered, held, options);
  } catch (error) {
    return Promise.reject(error);
  }
}

async function readPerson(
  deps: DecisionDependencies,
  request: PersonRequest,
  ordered: Identifier[],
  held: ResolvedProfile | null | undefined,
  options: { failOpen?: boolean; project?: Promise<Project> | undefined },
): Promise<Person> {
  const read: ReadOutcome<ResolvedProfile | null> =
    held !== undefined
      ? { ok: true, value: held }
      : await readOrFailOpen(options.failOpen ? deps.failOpen : undefined, 'identity', () =>
          deps.identities.resolve(ordered),
        );
  let profile = read.ok ? read.value : null;
  let source: PersonSource = 'cache';
  // Only after a cache that answered: with DynamoDB failing, the read-through could write nothing.
  if (read.ok && !profile && deps.readThrough) {
    const { project } = options;
    const learned = await deps.readThrough.resolve(ordered, () =>
      project ? project.then((p) => wantsOf(deps.settings, p)) : { links: true },
    );
    if (learned.profile) {
      profile = learned.profile;
      source = 'profile-api';
    }
  }
  if (profile) {
    const { id } = await deps.experimentIds.ofProfile(profile);
    return knownPerson(deps, request, ordered, profile, id, source);
  }
  // Not known yet: the same anchor rule the profile will get when Segment links these identifiers.
  const choice = await deps.experimentIds.ofRequest(ordered);
  if (!choice)
    throw new NoIdentifierError(MISSING_USER_ID, { detail: 'Send userId or at least one identifier' });
  return {
    experimentId: choice.id,
    answerUserId: answerUserIdOf(request, ordered) ?? choice.id,
    userId: ordered.find((i) => i.type === 'user_id')?.value ?? null,
    profile: null,
    matchedBy: null,
    accountId: null,
    source: read.ok ? 'request' : 'unavailable',
  };
}

function knownPerson(
  deps: DecisionDependencies,
  request: PersonRequest,
  ordered: Identifier[],
  profile: ResolvedProfile,
  experimentId: string,
  source: PersonSource,
): Person {
  deps.lastExperimentIds?.set(identifierListKey(ordered), experimentId);
  return {
    experimentId,
    answerUserId: answerUserIdOf(request, ordered) ?? experimentId,
    userId: profile.userId,
    profile,
    matchedBy: profile.matchedBy,
    accountId: profile.primaryAccount?.id ?? null,
    source,
  };
}

/**
 * What the answer names the person by: a client key is answered with the identifier it sent; an
 * operator key as before (Agent's echo of userId, else the experiment id: undefined here).
 */
function answerUserIdOf(request: PersonRequest, ordered: Identifier[]): string | undefined {
  const requested = request.userId?.trim() || undefined;
  return requested ?? (request.operator ? undefined : sentValue(request.identifiers, ordered[0]!));
}

/**
 * What a read-through asks Segment for on behalf of a project: the traits its datafile declares (and
 * may forward), the accounts when flags are account-bucketed or account attributes are declared, and
 * those account attributes' traits.
 */
export function wantsOf(settings: DecisionSettings, project: Project): ReadThroughWants {
  const prefix = settings.accountPrefix;
  const traits: string[] = [];
  const accountTraits: string[] = [];
  for (const name of project.forwardedAttributes) {
    if (name.startsWith('$')) continue;
    if (prefix !== '' && name.startsWith(prefix)) accountTraits.push(name.slice(prefix.length));
    else traits.push(name);
  }
  return {
    traits,
    links: settings.accountBucketedFlags.length > 0 || accountTraits.length > 0,
    accountTraits,
  };
}

/** The value, as the caller wrote it, of the request identifier that normalised to `first`. */
function sentValue(identifiers: Record<string, string> | undefined, first: Identifier): string {
  if (identifiers) {
    // One identifier (and no userId, or this is not asked): it is the one `first` came from.
    let only: string | undefined;
    let count = 0;
    for (const type in identifiers) {
      only = identifiers[type];
      if (++count > 1) break;
    }
    if (count === 1 && only !== undefined) return only.trim();
  }
  for (const [type, value] of Object.entries(identifiers ?? {})) {
    const normalized = normalizeIdentifier({ type, value });
    if (normalized.type === first.type && normalized.value === first.value) return value.trim();
  }
  return first.value;
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
 * Starts the reads a decide will make besides the identity, so that a person not in the container's
 * caches costs one round trip, not three: the project's overrides (keyed by SDK key alone), and the
 * saved profiles of the experiment ids the person may turn out to have (the id this container last
 * resolved these identifiers to, and each non-personal identifier's own value, which is the id of a
 * person anchored on it). The reads are cached (agent-state.ts), so the decide finds them.
 */
function prefetchState(
  deps: DecisionDependencies,
  request: PersonRequest & ProjectRequest,
  useProfile: boolean,
) {
  const { overrides, profiles } = deps.agentState;
  overrides?.prefetch(request.sdkKey);
  if (!profiles || !useProfile) return;
  let ordered: Identifier[];
  try {
    ordered = requestIdentifiers(request.userId, request.identifiers, deps.settings.rules);
  } catch {
    return; // resolvePerson answers the same error in its turn (after the project's, as Agent orders them)
  }
  const candidates = new Set<string>();
  const known = deps.lastExperimentIds?.get(identifierListKey(ordered));
  if (known !== undefined) candidates.add(known);
  for (const identifier of ordered) {
    if (!isPersonalIdentifier(deps.settings.rules, identifier)) candidates.add(identifier.value);
  }
  profiles.store.prefetch(request.sdkKey, candidates);
}

/**
 * Decides; the decision events are stored before the answer and delivered by the relay. A request
 * that dispatched nothing (DISABLE_DECISION_EVENT, no experiment) takes no extra step.
 */
export async function decideForRequest(
  deps: DecisionDependencies,
  request: DecideRequest,
): Promise<AgentDecision[]> {
  const useProfile = !request.decideOptions.includes('IGNORE_USER_PROFILE_SERVICE');
  prefetchState(deps, request, useProfile);
  const [project, person] = await projectAndPerson(deps, request, request, true);
  const attributes = attributesFor(deps, project, person, request);
  const loading = loadState(deps.agentState, request.sdkKey, person.experimentId, useProfile);
  const loaded = isPromise(loading) ? await loading : loading;
  const state = honouredFor(deps, project, person, request, loaded);
  const decided = decideWithState(
    deps.agentState,
    project.client,
    person.experimentId,
    state,
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
  // Awaited only when a CMAB flag made the decision asynchronous: the common one pays no tick.
  const { result, saved, batches } = isPromise(decided) ? await decided : decided;
  const stored =
    saved && mayStoreProfile(deps, project, person, request, request.forcedDecisions.length > 0)
      ? saved
      : null;
  const writes = storeAfterDecision(deps, request.sdkKey, person.experimentId, stored, loaded, batches);
  if (writes) await writes;
  return result;
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
  const profileWrite = saved ? storeProfile(deps.agentState, sdkKey, userId, saved, loaded) : undefined;
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
  const [project, person] = await projectAndPerson(deps, request, request, true);
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
  const [project, person] = await projectAndPerson(deps, request, request, true);
  const selected = selectKeys(project, request.query);
  const attributes = attributesFor(deps, project, person, request);
  const loaded = await loadState(deps.agentState, request.sdkKey, person.experimentId, true);
  const state = honouredFor(deps, project, person, request, loaded);
  const decided = decideWithState(
    deps.agentState,
    project.client,
    person.experimentId,
    state,
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
  // Awaited only when a CMAB flag made the decision asynchronous: the common one pays no tick.
  const { result, saved, batches } = isPromise(decided) ? await decided : decided;
  const stored = saved && mayStoreProfile(deps, project, person, request, false) ? saved : null;
  const writes = storeAfterDecision(deps, request.sdkKey, person.experimentId, stored, loaded, batches);
  if (writes) await writes;
  return result;
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
  deps: DecisionDependencies,
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

function profiles(deps: DecisionDependencies) {
  const enabled = deps.agentState.profiles;
  if (!enabled) throw new Error('the user profile service is not enabled');
  return enabled;
}

/** The saved bucketing of the person a user id resolves to (Agent's POST /v1/lookup). */
export async function lookupProfile(
  deps: DecisionDependencies,
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
  deps: DecisionDependencies,
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
