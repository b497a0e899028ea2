/**
 * The decide/track use cases: resolve the person through the identity reader, build the attributes,
 * run the project's Optimizely client, and wait for event delivery before answering. Dependencies
 * come from the decide entry point (functions/decide/dependencies.ts).
 */
import { DependencyUnavailableError, NoIdentifierError } from '../core/errors';
import type { ExperimentIds } from '../identity/experiment-id';
import type { Identifier } from '../identity/identifiers';
import type { IdentityReader } from '../identity/model';
import type { IdentityRules } from '../identity/rules';
import type { Observability } from '../observability/logger';
import type { FlushingEventDispatcher } from '../optimizely/event-dispatcher';
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
  dispatcher: FlushingEventDispatcher;
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
    declared: project.forwardedAttributes,
    accountPrefix: deps.settings.accountPrefix,
    allowReserved: deps.settings.allowReserved,
  });
}

export interface DecideRequest extends PersonRequest {
  sdkKey: string;
  /** When false (a client key), answers show only the request's own attributes. */
  showAllAttributes: boolean;
  keys: readonly string[];
  decideOptions: readonly DecideOptionName[];
  forcedDecisions: readonly ForcedDecision[];
}

/** Decides, then waits for every decision event; failed deliveries are logged and counted, not fatal. */
export async function decideForRequest(
  deps: DecisionDependencies,
  request: DecideRequest,
): Promise<AgentDecision[]> {
  const [project, person] = await Promise.all([
    deps.projects.get(request.sdkKey),
    resolvePerson(deps, request),
  ]);
  const attributes = attributesFor(deps, project, person, request);
  const { result, delivery } = await deps.dispatcher.capture(() =>
    decideFlags(project, person, {
      keys: request.keys,
      attributes,
      shownAttributes: request.showAllAttributes ? undefined : request.userAttributes,
      options: request.decideOptions,
      forcedDecisions: request.forcedDecisions,
      accountBucketedFlags: deps.settings.accountBucketedFlags,
    }),
  );
  if (delivery.failed > 0) {
    const { logger, metrics } = deps.observability;
    logger.error('decision events were not delivered', { sdkKey: request.sdkKey, ...delivery });
    metrics.metric('DecisionEventDeliveryFailed', delivery.failed);
  }
  return result;
}

export interface TrackRequest extends PersonRequest {
  sdkKey: string;
  eventKey: string;
  eventTags: Record<string, string | number | boolean | null>;
}

/** Tracks, then waits for the conversion event; a failed delivery is a retryable error. */
export async function trackForRequest(
  deps: DecisionDependencies,
  request: TrackRequest,
): Promise<TrackAnswer> {
  const [project, person] = await Promise.all([
    deps.projects.get(request.sdkKey),
    resolvePerson(deps, request),
  ]);
  const attributes = attributesFor(deps, project, person, request);
  const { result, delivery } = await deps.dispatcher.capture(() =>
    trackEvent(project, person, request.eventKey, attributes, request.eventTags),
  );
  if (delivery.failed > 0) {
    const { logger, metrics } = deps.observability;
    logger.error('conversion event was not delivered', { sdkKey: request.sdkKey, ...delivery });
    metrics.metric('ConversionEventDeliveryFailed', delivery.failed);
    // The conversion was not recorded: retrying the request is the fix.
    throw new DependencyUnavailableError('The conversion event could not be delivered to Optimizely');
  }
  return result;
}
