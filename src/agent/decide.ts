/**
 * Decide and track for one resolved person: the Optimizely user contexts (one bucketed on the user,
 * one on the primary account when any requested flag is account-bucketed), the SDK calls, and the
 * Agent-shaped answers with Crosswalk's `identity` extension. No I/O here besides the SDK's
 * synchronous dispatch into the event dispatcher, and the CMAB prediction of a flag that has a CMAB
 * rule: such a flag is decided with the SDK's `decideAsync` (which calls the prediction service),
 * every other flag with its synchronous `decide` (which never does).
 *
 * Past 300 lines on purpose: Agent's decision shape, the identity block and the options table are
 * the contract of the two calls below, and read best beside them.
 */

import type { Identifier } from '../identity/identifiers';
import type { ResolvedProfile } from '../identity/model';
import type { Project } from '../optimizely/projects';
import {
  OptimizelyDecideOption,
  type OptimizelyDecision,
  type OptimizelyUserContext,
} from '../optimizely/sdk';
import { goMap, goValue } from '../platform/core/go-json';
import { allMaybe, type MaybePromise } from '../platform/core/maybe-promise';
import { type Attributes, BUCKETING_ID_ATTRIBUTE } from './attributes';
import { accountBucketingId } from './bucketing';

export const DECIDE_OPTIONS = [
  'DISABLE_DECISION_EVENT',
  'ENABLED_FLAGS_ONLY',
  'IGNORE_USER_PROFILE_SERVICE',
  'INCLUDE_REASONS',
  'EXCLUDE_VARIABLES',
  // CMAB's prediction cache (per container): skip it, empty it (operator keys only), or drop this
  // person's entry.
  'IGNORE_CMAB_CACHE',
  'RESET_CMAB_CACHE',
  'INVALIDATE_USER_CMAB_CACHE',
  // Crosswalk's, for operator keys: decide as the person would be decided, writing nothing (no
  // saved profile, no event); the console looks this way (docs/agent-compatibility.md).
  'READ_ONLY',
] as const;
export type DecideOptionName = (typeof DECIDE_OPTIONS)[number];

const sdkOptions: Record<DecideOptionName, OptimizelyDecideOption | undefined> = {
  DISABLE_DECISION_EVENT: OptimizelyDecideOption.DISABLE_DECISION_EVENT,
  ENABLED_FLAGS_ONLY: OptimizelyDecideOption.ENABLED_FLAGS_ONLY,
  IGNORE_USER_PROFILE_SERVICE: OptimizelyDecideOption.IGNORE_USER_PROFILE_SERVICE,
  INCLUDE_REASONS: OptimizelyDecideOption.INCLUDE_REASONS,
  EXCLUDE_VARIABLES: OptimizelyDecideOption.EXCLUDE_VARIABLES,
  IGNORE_CMAB_CACHE: OptimizelyDecideOption.IGNORE_CMAB_CACHE,
  RESET_CMAB_CACHE: OptimizelyDecideOption.RESET_CMAB_CACHE,
  INVALIDATE_USER_CMAB_CACHE: OptimizelyDecideOption.INVALIDATE_USER_CMAB_CACHE,
  READ_ONLY: OptimizelyDecideOption.DISABLE_DECISION_EVENT,
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
  /**
   * `cache`: resolved through the identity cache; `profile-api`: unknown to the cache, learned from
   * Segment's Profile API for this request (docs/profile-api.md); `request`: unknown, decided with the
   * request's identifiers; `unavailable`: the identity cache could not be read in time, so decided
   * with the request's identifiers (agent/fail-open.ts).
   */
  source: PersonSource;
}

export type PersonSource = 'cache' | 'profile-api' | 'request' | 'unavailable';

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
  source: PersonSource;
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
  /** Add Crosswalk's `identity` block (asked for with `includeIdentity=true` or `identifiers`). */
  includeIdentity: boolean;
  /**
   * False for a client key: the SDK decides without INCLUDE_REASONS, so the answer has only the
   * reasons Agent gives without it (errors such as an unknown flag key), never how a stored trait
   * or audience evaluated. Default true.
   */
  withReasons?: boolean;
}

/**
 * Optimizely Agent's decision shape, field for field: null keys become "" as Agent's Go structs
 * render them, `variables` is left out when empty (Go's omitempty), maps (attributes, variables)
 * have their keys sorted as Go writes them, and `isEveryoneElseVariation` is computed as Agent
 * computes it. Crosswalk's `identity` block only when asked for.
 */
export interface AgentDecision {
  variationKey: string;
  enabled: boolean;
  ruleKey: string;
  flagKey: string;
  userContext: { userId: string; attributes: Attributes };
  reasons: string[];
  variables?: Record<string, unknown>;
  isEveryoneElseVariation: boolean;
  identity?: IdentityInfo;
}

/** The JavaScript SDK's reason when a CMAB prediction could not be had (the Go SDK words it the same). */
const CMAB_FAILED = /^Failed to fetch CMAB data for experiment /;

/**
 * The reasons of a decision. The SDK gives every reason of a failed CMAB decision (audience
 * evaluation included) even without INCLUDE_REASONS; Agent answers the failure alone, and so does
 * Crosswalk (which also keeps a client key from learning how its attributes evaluated).
 */
function reasonsOf(decision: OptimizelyDecision): string[] {
  if (decision.variationKey !== null || decision.reasons.length < 2) return decision.reasons;
  const failure = decision.reasons.find((r) => CMAB_FAILED.test(r));
  return failure === undefined ? decision.reasons : [failure];
}

function toAgent(
  project: Project,
  decision: OptimizelyDecision,
  userId: string,
  attributes: Attributes,
  identity: IdentityInfo | undefined,
): AgentDecision {
  const ruleKey = decision.ruleKey ?? '';
  return {
    variationKey: decision.variationKey ?? '',
    enabled: decision.enabled,
    ruleKey,
    flagKey: decision.flagKey,
    userContext: { userId, attributes },
    reasons: reasonsOf(decision),
    ...(Object.keys(decision.variables).length > 0
      ? { variables: goValue(decision.variables) as Record<string, unknown> }
      : {}),
    isEveryoneElseVariation: project.everyoneElseRules.get(decision.flagKey)?.has(ruleKey) ?? false,
    ...(identity ? { identity } : {}),
  };
}

interface FlagContext {
  context: OptimizelyUserContext;
  /** What `userContext.attributes` answers, as Go writes a map. */
  shown: Attributes;
}

/** The user context a flag is decided in: bucketed on the person, or on `bucketingId` (their account). */
function userContextFor(
  project: Project,
  person: Person,
  input: DecideInput,
  bucketingId: string | null,
): FlagContext {
  const attributes =
    bucketingId === null ? input.attributes : { ...input.attributes, [BUCKETING_ID_ATTRIBUTE]: bucketingId };
  const context = project.client.createUserContext(person.experimentId, attributes);
  for (const forced of input.forcedDecisions) {
    // An absent or empty ruleKey forces the flag as a whole, as Agent does.
    const decisionContext = forced.ruleKey
      ? { flagKey: forced.flagKey, ruleKey: forced.ruleKey }
      : { flagKey: forced.flagKey };
    context.setForcedDecision(decisionContext, { variationKey: forced.variationKey });
  }
  return { context, shown: goMap(input.shownAttributes ?? attributes) };
}

/** The answer for one flag: Agent's shape, or null when only enabled flags are wanted and it is not. */
function answerFor(
  project: Project,
  person: Person,
  flag: FlagContext,
  identity: IdentityInfo | undefined,
  onlyEnabled: boolean,
  decision: OptimizelyDecision,
): AgentDecision | null {
  if (onlyEnabled && !decision.enabled) return null;
  return toAgent(project, decision, person.answerUserId, flag.shown, identity);
}

/**
 * Decisions in request order; with several keys (or none) and ENABLED_FLAGS_ONLY, disabled ones are
 * left out. Synchronous unless a requested flag has a CMAB rule (`project.cmabFlags`).
 */
export function decideFlags(
  project: Project,
  person: Person,
  input: DecideInput,
): MaybePromise<AgentDecision[]> {
  const keys = input.keys.length > 0 ? input.keys : project.flagKeys;
  const options: OptimizelyDecideOption[] = [];
  for (const o of input.options) {
    const option = sdkOptions[o];
    if (option !== undefined && (input.withReasons !== false || o !== 'INCLUDE_REASONS'))
      options.push(option);
  }
  const contexts = new Map<string | null, FlagContext>();
  const onlyEnabled = input.keys.length !== 1 && input.options.includes('ENABLED_FLAGS_ONLY');
  const decisions: MaybePromise<AgentDecision | null>[] = [];
  // A key asked for twice is decided once (one decision, one event), as Agent's DecideForKeys does.
  for (const key of keys.length === 1 ? keys : new Set(keys)) {
    const accountId = accountBucketingId(key, input.accountBucketedFlags, person.accountId);
    let flag = contexts.get(accountId);
    if (!flag) {
      flag = userContextFor(project, person, input, accountId);
      contexts.set(accountId, flag);
    }
    const identity = input.includeIdentity
      ? {
          canonicalId: person.experimentId,
          userId: person.userId,
          matchedBy: person.matchedBy,
          accountId: person.accountId,
          bucketingId: accountId ?? person.experimentId,
          source: person.source,
        }
      : undefined;
    // An account-bucketed flag sticks to the account through its bucketing id; a person's saved
    // profile (which the SDK keys by user) must not pull one member away from their account.
    const flagOptions =
      accountId === null ? options : [...options, OptimizelyDecideOption.IGNORE_USER_PROFILE_SERVICE];
    if (project.cmabFlags.has(key)) {
      const awaited = flag;
      decisions.push(
        awaited.context
          .decideAsync(key, flagOptions)
          .then((decision) => answerFor(project, person, awaited, identity, onlyEnabled, decision)),
      );
    } else {
      decisions.push(
        answerFor(project, person, flag, identity, onlyEnabled, flag.context.decide(key, flagOptions)),
      );
    }
  }
  const settled = allMaybe(decisions);
  return Array.isArray(settled) ? present(settled) : settled.then(present);
}

function present<T>(items: (T | null)[]): T[] {
  return items.filter((item): item is T => item !== null);
}

export interface TrackAnswer {
  userId: string;
  eventKey: string;
  /** Set, as Optimizely Agent does, when the event key is not in the datafile (nothing is sent). */
  error?: string;
  identity?: Omit<IdentityInfo, 'bucketingId'>;
}

export function trackEvent(
  project: Project,
  person: Person,
  eventKey: string,
  attributes: Attributes,
  eventTags: Record<string, string | number | boolean | null>,
  includeIdentity: boolean,
): TrackAnswer {
  const answer: TrackAnswer = { userId: person.answerUserId, eventKey };
  if (!project.eventKeys.has(eventKey)) {
    answer.error = `event with key ${JSON.stringify(eventKey)} not found`;
  } else {
    const tags: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(eventTags)) if (v !== null) tags[k] = v;
    project.client.createUserContext(person.experimentId, attributes).trackEvent(eventKey, tags);
  }
  if (includeIdentity) {
    answer.identity = {
      canonicalId: person.experimentId,
      userId: person.userId,
      matchedBy: person.matchedBy,
      accountId: person.accountId,
      source: person.source,
    };
  }
  return answer;
}
