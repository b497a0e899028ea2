/**
 * The decide/track use cases: resolve the person through the identity reader, build the attributes,
 * run the project's Optimizely client, and hand its events to the delivery path (events/delivery.ts):
 * a decide answers without waiting for Optimizely's event API; a track answers once its conversion
 * is stored for delivery. Dependencies come from the decide entry point
 * (functions/decide/dependencies.ts).
 */
import { NoIdentifierError } from '../core/errors';
import type { EventDelivery } from '../events/delivery';
import type { ExperimentIds } from '../identity/experiment-id';
import type { Identifier } from '../identity/identifiers';
import type { IdentityReader } from '../identity/model';
import type { IdentityRules } from '../identity/rules';
import type { Observability } from '../observability/logger';
import type { CapturingEventDispatcher } from '../optimizely/event-dispatcher';
import type { Project, ProjectRegistry } from '../optimizely/projects';
import { type Attributes, buildAttributes } from './attributes';
import {
  type AgentDecision,
  type DecideOptionName,
  decideFlags,
  type ForcedDecision,
  type Person,
  type TrackAnswer,
  trackEvent,
} from './decide';
import { requestIdentifiers } from './request-identifiers';

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
  observability: Observability;
}

export interface PersonRequest {
  userId?: string | undefined;
  identifiers?: Record<string, string> | undefined;
  userAttributes: Attributes;
}

/** The person a request names: their profile when Segment knows them, and their experiment id. */
export async function resolvePerson(deps: DecisionDependencies, request: PersonRequest): Promise<Person> {
  const ordered: Identifier[] = requestIdentifiers(request.userId, request.identifiers, deps.settings.rules);
  if (ordered.length === 0) throw new NoIdentifierError('Send userId or at least one identifier');
  const profile = await deps.identities.resolve(ordered);
  const requested = request.userId?.trim() || undefined;
  if (profile) {
    const { id } = await deps.experimentIds.ofProfile(profile);
    return {
      experimentId: id,
      answerUserId: requested ?? id,
      userId: profile.userId,
      profile,
      matchedBy: profile.matchedBy,
      accountId: profile.primaryAccount?.id ?? null,
      source: 'cache',
    };
  }
  // Not known yet: the same anchor rule the profile will get when Segment links these identifiers.
  const choice = await deps.experimentIds.ofRequest(ordered);
  if (!choice) throw new NoIdentifierError('Send userId or at least one identifier');
  return {
    experimentId: choice.id,
    answerUserId: requested ?? choice.id,
    userId: ordered.find((i) => i.type === 'user_id')?.value ?? null,
    profile: null,
    matchedBy: null,
    accountId: null,
    source: 'request',
  };
}

function attributesFor(
  deps: DecisionDependencies,
  project: Project,
  person: Person,
  request: PersonRequest,
): Attributes {
  return buildAttributes({
    profile: person.profile,
    requestAttributes: request.userAttributes,
    declared: project.declaredAttributes,
    accountPrefix: deps.settings.accountPrefix,
    allowReserved: deps.settings.allowReserved,
  });
}

export interface DecideRequest extends PersonRequest {
  sdkKey: string;
  keys: readonly string[];
  decideOptions: readonly DecideOptionName[];
  forcedDecisions: readonly ForcedDecision[];
}

/**
 * Decides; the decision events are delivered after the answer. A request that dispatched nothing
 * (DISABLE_DECISION_EVENT, no experiment) takes no extra step.
 */
export async function decideForRequest(
  deps: DecisionDependencies,
  request: DecideRequest,
): Promise<AgentDecision[]> {
  const [project, person] = await Promise.all([
    deps.projects.get(request.sdkKey),
    resolvePerson(deps, request),
  ]);
  const attributes = attributesFor(deps, project, person, request);
  const { result, batches } = deps.dispatcher.capture(() =>
    decideFlags(project, person, {
      keys: request.keys,
      attributes,
      options: request.decideOptions,
      forcedDecisions: request.forcedDecisions,
      accountBucketedFlags: deps.settings.accountBucketedFlags,
    }),
  );
  if (batches.length > 0) {
    // Awaited only when nothing can hold the invocation open after the answer.
    const delivering = deps.events.afterDecide(batches);
    if (delivering) await delivering;
  }
  return result;
}

export interface TrackRequest extends PersonRequest {
  sdkKey: string;
  eventKey: string;
  eventTags: Record<string, string | number | boolean | null>;
}

/**
 * Tracks; answers once the conversion is stored for delivery (or, if storing failed, delivered).
 * Only a failure of both is a retryable error.
 */
export async function trackForRequest(
  deps: DecisionDependencies,
  request: TrackRequest,
): Promise<TrackAnswer> {
  const [project, person] = await Promise.all([
    deps.projects.get(request.sdkKey),
    resolvePerson(deps, request),
  ]);
  const attributes = attributesFor(deps, project, person, request);
  const { result, batches } = deps.dispatcher.capture(() =>
    trackEvent(project, person, request.eventKey, attributes, request.eventTags),
  );
  if (batches.length > 0) await deps.events.beforeTrackAnswer(batches);
  return result;
}
