/**
 * Decide and track for one resolved person: the Optimizely user contexts (one bucketed on the user,
 * one on the primary account when any requested flag is account-bucketed), the SDK calls, and the
 * Agent-shaped answers with Crosswalk's `identity` extension. No I/O here besides the SDK's
 * synchronous dispatch into the event dispatcher.
 */
import {
  OptimizelyDecideOption,
  type OptimizelyDecision,
  type OptimizelyUserContext,
} from '@optimizely/optimizely-sdk';
import type { Identifier } from '../identity/identifiers';
import type { ResolvedProfile } from '../identity/model';
import type { Project } from '../optimizely/projects';
import { type Attributes, BUCKETING_ID_ATTRIBUTE } from './attributes';
import { accountBucketingId } from './bucketing';

export const DECIDE_OPTIONS = [
  'DISABLE_DECISION_EVENT',
  'ENABLED_FLAGS_ONLY',
  'IGNORE_USER_PROFILE_SERVICE',
  'INCLUDE_REASONS',
  'EXCLUDE_VARIABLES',
] as const;
export type DecideOptionName = (typeof DECIDE_OPTIONS)[number];

const sdkOptions: Record<DecideOptionName, OptimizelyDecideOption> = {
  DISABLE_DECISION_EVENT: OptimizelyDecideOption.DISABLE_DECISION_EVENT,
  ENABLED_FLAGS_ONLY: OptimizelyDecideOption.ENABLED_FLAGS_ONLY,
  IGNORE_USER_PROFILE_SERVICE: OptimizelyDecideOption.IGNORE_USER_PROFILE_SERVICE,
  INCLUDE_REASONS: OptimizelyDecideOption.INCLUDE_REASONS,
  EXCLUDE_VARIABLES: OptimizelyDecideOption.EXCLUDE_VARIABLES,
};

/** How the request's identity was resolved; added to every decision and track answer. */
export interface IdentityInfo {
  /** The stable experiment id: what Optimizely bucketed on and what the events carry. */
  canonicalId: string;
  /** The profile's user id, when it has one (or the request's, for someone not known yet). */
  userId: string | null;
  /** The identifier that found the profile; null when no profile was known. */
  matchedBy: Identifier | null;
  accountId: string | null;
  /** What this flag was bucketed on: the account id or the experiment id. */
  bucketingId: string;
  /** `cache`: resolved through the identity cache; `request`: unknown, decided with the request's identifiers. */
  source: 'cache' | 'request';
}

export interface Person {
  /** The stable experiment id (identity/experiment-id.ts): Optimizely's user id here. */
  experimentId: string;
  /**
   * What Agent's `userContext.userId` and track's `userId` answer: the request's `userId` when it
   * sent one (Agent echoes it, and clients compare it), else the experiment id.
   */
  answerUserId: string;
  userId: string | null;
  profile: ResolvedProfile | null;
  matchedBy: Identifier | null;
  accountId: string | null;
  source: 'cache' | 'request';
}

export interface ForcedDecision {
  flagKey: string;
  ruleKey?: string | undefined;
  variationKey: string;
}

export interface DecideInput {
  /** Requested flag keys; empty → every flag of the project. */
  keys: readonly string[];
  attributes: Attributes;
  /**
   * What `userContext.attributes` answers, when not every attribute the SDK saw may be shown (a
   * client key sees only what its request sent, never stored traits); undefined: all of them.
   */
  shownAttributes?: Attributes | undefined;
  options: readonly DecideOptionName[];
  forcedDecisions: readonly ForcedDecision[];
  accountBucketedFlags: readonly string[];
}

/** Optimizely Agent's decision shape (null keys become "" as Agent's Go structs render them). */
export interface AgentDecision {
  flagKey: string;
  enabled: boolean;
  variationKey: string;
  ruleKey: string;
  variables: Record<string, unknown>;
  userContext: { userId: string; attributes: Attributes };
  reasons: string[];
  identity: IdentityInfo;
}

function toAgent(
  decision: OptimizelyDecision,
  userId: string,
  attributes: Attributes,
  identity: IdentityInfo,
): AgentDecision {
  return {
    flagKey: decision.flagKey,
    enabled: decision.enabled,
    variationKey: decision.variationKey ?? '',
    ruleKey: decision.ruleKey ?? '',
    variables: decision.variables,
    userContext: { userId, attributes },
    reasons: decision.reasons,
    identity,
  };
}

/** Decisions in request order; with several keys (or none) and ENABLED_FLAGS_ONLY, disabled ones are left out. */
export function decideFlags(project: Project, person: Person, input: DecideInput): AgentDecision[] {
  const keys = input.keys.length > 0 ? input.keys : project.flagKeys;
  const options = input.options.map((o) => sdkOptions[o]);
  const contexts = new Map<string | null, { context: OptimizelyUserContext; attributes: Attributes }>();

  const contextFor = (bucketingId: string | null) => {
    let entry = contexts.get(bucketingId);
    if (!entry) {
      const attributes =
        bucketingId === null
          ? input.attributes
          : { ...input.attributes, [BUCKETING_ID_ATTRIBUTE]: bucketingId };
      const context = project.client.createUserContext(person.experimentId, attributes);
      for (const forced of input.forcedDecisions) {
        const decisionContext =
          forced.ruleKey === undefined
            ? { flagKey: forced.flagKey }
            : { flagKey: forced.flagKey, ruleKey: forced.ruleKey };
        context.setForcedDecision(decisionContext, { variationKey: forced.variationKey });
      }
      entry = { context, attributes };
      contexts.set(bucketingId, entry);
    }
    return entry;
  };

  const onlyEnabled = input.keys.length !== 1 && input.options.includes('ENABLED_FLAGS_ONLY');
  const decisions: AgentDecision[] = [];
  for (const key of keys) {
    const accountId = accountBucketingId(key, input.accountBucketedFlags, person.accountId);
    const { context, attributes } = contextFor(accountId);
    const shown = input.shownAttributes ?? attributes;
    const decision = context.decide(key, options);
    if (onlyEnabled && !decision.enabled) continue;
    decisions.push(
      toAgent(decision, person.answerUserId, shown, {
        canonicalId: person.experimentId,
        userId: person.userId,
        matchedBy: person.matchedBy,
        accountId: person.accountId,
        bucketingId: accountId ?? person.experimentId,
        source: person.source,
      }),
    );
  }
  return decisions;
}

export interface TrackAnswer {
  userId: string;
  eventKey: string;
  /** Set, as Optimizely Agent does, when the event key is not in the datafile (nothing is sent). */
  error?: string;
  identity: Omit<IdentityInfo, 'bucketingId'>;
}

export function trackEvent(
  project: Project,
  person: Person,
  eventKey: string,
  attributes: Attributes,
  eventTags: Record<string, string | number | boolean | null>,
): TrackAnswer {
  const identity = {
    canonicalId: person.experimentId,
    userId: person.userId,
    matchedBy: person.matchedBy,
    accountId: person.accountId,
    source: person.source,
  };
  if (!project.eventKeys.has(eventKey)) {
    return {
      userId: person.answerUserId,
      eventKey,
      error: `eventKey: ${JSON.stringify(eventKey)} not found`,
      identity,
    };
  }
  const tags: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(eventTags)) if (v !== null) tags[k] = v;
  project.client.createUserContext(person.experimentId, attributes).trackEvent(eventKey, tags);
  return { userId: person.answerUserId, eventKey, identity };
}
