/**
 * The stable experiment id: the one id Optimizely buckets a person on and the visitor id of their
 * events, so a person keeps their variation while their identifiers change, and exposures and
 * conversions stay joined. The rule, written once and used on both sides:
 *
 * - A profile's id comes from its **anchor**: the identifier seen first (earliest event timestamp).
 *   Identifiers joining later (a user id at login) never move it, and it depends only on the
 *   identifiers and their first sightings, so any order of the same events gives the same id.
 * - Ties (one event bringing several new identifiers, as the signup identify does) go to the
 *   identifier a caller would have been decided on while the person was unknown: anonymous ids
 *   first, then device ids, other non-personal types, the user id, and personal types last.
 * - A person Segment does not know yet is decided on the anchor of the request's identifiers by the
 *   same ranking, so the id used while unknown is the id their profile gets when Segment links it.
 * - Personal identifiers are never used as, or inside, an id: an anchor of a personal type (email,
 *   phone by default), or of any type whose value looks like an email address or a phone number
 *   (personal-values.ts), becomes a keyed, non-reversible digest (HMAC-SHA256 with a secret).
 * - When two profiles merge, the merged one keeps the id of the one seen first; the younger
 *   profile's surface changes variation once. That is the one unavoidable flip (docs/identity-rules.md).
 */
import { createHmac } from 'node:crypto';
import { ConfigurationError } from '../platform/core/errors';
import { LruCache } from '../platform/core/lru-cache';
import type { MaybePromise } from '../platform/core/maybe-promise';
import { type Identifier, identifierKey, SEGMENT_ID_TYPE, type SightedIdentifier } from './identifiers';
import { isPersonalIdentifier } from './personal-values';
import { compareByPriority, type IdentityRules } from './rules';

/** Anonymous → device → other non-personal → user id → personal; lower ranks anchor first. */
export function anchorRank(rules: IdentityRules, identifier: Identifier): number {
  const { type } = identifier;
  if (isPersonalIdentifier(rules, identifier)) return 4;
  if (type === 'anonymous_id') return 0;
  if (/^(ios|android)\./.test(type) || type === 'device_id') return 1;
  if (type === 'user_id') return 3;
  return 2;
}

/** Orders two identifiers seen at the same time: the first would anchor (rank, then type, then value). */
export function compareAnchorTies(rules: IdentityRules, a: Identifier, b: Identifier): number {
  return (
    anchorRank(rules, a) - anchorRank(rules, b) ||
    (a.type < b.type ? -1 : a.type > b.type ? 1 : 0) ||
    (a.value < b.value ? -1 : a.value > b.value ? 1 : 0)
  );
}

/**
 * A profile's anchor: earliest first sighting, ties by `compareAnchorTies`. Segment's profile id (a
 * backfill's join key) anchors only a profile that has nothing else.
 */
export function profileAnchor<T extends SightedIdentifier>(
  rules: IdentityRules,
  identifiers: readonly T[],
): T | undefined {
  const hasOthers = identifiers.some((i) => i.type !== SEGMENT_ID_TYPE);
  return earliestSighted(
    hasOthers ? identifiers.filter((i) => i.type !== SEGMENT_ID_TYPE) : identifiers,
    (a, b) => compareAnchorTies(rules, a, b),
  );
}

/**
 * The id the version before stable experiment ids bucketed on: the user_id when the profile had
 * one, else the identifier seen first (ties by priority). Used only to pin legacy profiles.
 */
export function legacyCanonicalIdentifier(
  rules: IdentityRules,
  profile: { identifiers: readonly SightedIdentifier[] },
): SightedIdentifier | undefined {
  const userId = profile.identifiers.find((i) => i.type === 'user_id');
  return userId ?? earliestSighted(profile.identifiers, (a, b) => compareByPriority(rules, a, b));
}

/** The identifier seen first; ties by `tie` (negative: the first argument wins). */
function earliestSighted<T extends SightedIdentifier>(
  identifiers: readonly T[],
  tie: (a: T, b: T) => number,
): T | undefined {
  let best: T | undefined;
  for (const candidate of identifiers) {
    if (
      best === undefined ||
      candidate.firstSeen < best.firstSeen ||
      (candidate.firstSeen === best.firstSeen && tie(candidate, best) < 0)
    ) {
      best = candidate;
    }
  }
  return best;
}

/** The anchor of a request for someone not known yet: all of its identifiers are "seen now". */
export function requestAnchor(
  rules: IdentityRules,
  identifiers: readonly Identifier[],
): Identifier | undefined {
  let best: Identifier | undefined;
  for (const candidate of identifiers)
    if (!best || compareAnchorTies(rules, candidate, best) < 0) best = candidate;
  return best;
}

/** The anchor of a profile's experiment id: the pinned legacy one, else the earliest sighting. */
export function anchorOf(
  rules: IdentityRules,
  profile: { pinnedAnchor?: Identifier | undefined; identifiers: readonly SightedIdentifier[] },
): { anchor: SightedIdentifier; rule: 'earliest-identifier' | 'legacy' } | undefined {
  const pinned = profile.pinnedAnchor;
  if (pinned) {
    const record = profile.identifiers.find((i) => i.type === pinned.type && i.value === pinned.value);
    if (record) return { anchor: record, rule: 'legacy' };
  }
  const anchor = profileAnchor(rules, profile.identifiers);
  return anchor ? { anchor, rule: 'earliest-identifier' } : undefined;
}

/**
 * What a snapshot's experiment id comes from. Snapshots written before stable experiment ids carry
 * the id they were bucketed on (`canonicalId`) instead: it is kept, through the identifier that
 * holds that value, so those people keep their variation.
 */
export function snapshotAnchor(snapshot: {
  profileId: string;
  userId?: string | null;
  anchor?: Identifier;
  anchorRule?: 'earliest-identifier' | 'legacy';
  canonicalId?: string;
  identifiers: readonly Identifier[];
}): AnchoredProfile {
  const userId = snapshot.userId ?? snapshot.identifiers.find((i) => i.type === 'user_id')?.value ?? null;
  if (snapshot.anchor) {
    return { anchor: snapshot.anchor, anchorRule: snapshot.anchorRule ?? 'earliest-identifier', userId };
  }
  const legacy = snapshot.canonicalId ?? snapshot.profileId;
  const holder =
    snapshot.identifiers.find((i) => i.type === 'user_id' && i.value === legacy) ??
    snapshot.identifiers.find((i) => i.value === legacy);
  return {
    anchor: holder ? { type: holder.type, value: holder.value } : { type: 'profile', value: legacy },
    anchorRule: 'legacy',
    userId,
  };
}

/** Prefix of digested ids: recognisable in Optimizely's results, never an email. */
export const DIGEST_PREFIX = 'cw1_';

/** The keyed digest of a (normalised) personal identifier: stable, non-reversible without the key. */
export function identifierDigest(secret: string, identifier: Identifier): string {
  const mac = createHmac('sha256', secret)
    .update(`${identifier.type}:${identifier.value}`, 'utf8')
    .digest('base64url');
  return `${DIGEST_PREFIX}${mac.slice(0, 27)}`;
}

/** How an experiment id was chosen, for answers and the console. */
export type ExperimentIdRule = 'earliest-identifier' | 'user-id' | 'legacy';

export interface ExperimentIdChoice {
  id: string;
  /** The identifier type it comes from. */
  fromType: string;
  /** True when the id is a digest of a personal identifier. */
  digested: boolean;
  rule: ExperimentIdRule;
}

/** What the experiment id of a known profile is derived from (see ResolvedProfile). */
export interface AnchoredProfile {
  anchor: Identifier;
  /** `legacy`: written before stable ids; its old canonical id is kept so nobody changes variation. */
  anchorRule: 'earliest-identifier' | 'legacy';
  userId: string | null;
}

export interface ExperimentIds {
  /** The experiment id of a known profile: at once unless a personal anchor's digest needs the secret. */
  ofProfile(profile: AnchoredProfile): MaybePromise<ExperimentIdChoice>;
  /** The experiment id of someone not known yet, from the request's identifiers. */
  ofRequest(identifiers: readonly Identifier[]): Promise<ExperimentIdChoice | undefined>;
  /**
   * Every experiment id a person with these identifiers may have been decided on: each identifier's
   * own id (a request anchors on one of them), and, for values of a non-personal type, the raw value
   * (the id a value that looks personal had before such values were digested). What a Segment
   * delete erases saved profiles, overrides and queued events by (erasure.ts).
   */
  everyIdOf(identifiers: readonly Identifier[]): Promise<string[]>;
}

/**
 * The container's experiment-id rule. `secret` gives the digest key (EXPERIMENT_ID_SECRET, or the
 * secret's `experimentIdSecret`); it is asked only when a personal identifier must be digested.
 * `bucketOnUserId` is the opt-out: bucket on the user id whenever there is one (see the docs for
 * the trade-off: login changes variation for people first seen anonymously).
 */
export function createExperimentIds(options: {
  rules: IdentityRules;
  bucketOnUserId: boolean;
  secret: () => Promise<string | undefined>;
  /** Digests kept per container (an HMAC per decide for email-only callers is avoidable work). */
  cacheSize?: number;
}): ExperimentIds {
  const { rules } = options;
  const digests = new LruCache<string, string>({
    maxEntries: options.cacheSize ?? 10_000,
    ttlMs: Number.POSITIVE_INFINITY,
  });

  function idOf(anchor: Identifier, rule: ExperimentIdRule): MaybePromise<ExperimentIdChoice> {
    if (!isPersonalIdentifier(rules, anchor))
      return { id: anchor.value, fromType: anchor.type, digested: false, rule };
    const key = identifierKey(anchor);
    const id = digests.get(key);
    if (id !== undefined) return { id, fromType: anchor.type, digested: true, rule };
    return digestOf(anchor, key).then((digest) => ({
      id: digest,
      fromType: anchor.type,
      digested: true,
      rule,
    }));
  }

  async function digestOf(anchor: Identifier, key: string): Promise<string> {
    const secret = await options.secret();
    if (!secret) throw new MissingDigestSecretError();
    const id = identifierDigest(secret, anchor);
    digests.set(key, id);
    return id;
  }

  return {
    ofProfile(profile) {
      if (options.bucketOnUserId && profile.userId !== null) {
        return idOf({ type: 'user_id', value: profile.userId }, 'user-id');
      }
      return idOf(profile.anchor, profile.anchorRule);
    },
    async everyIdOf(identifiers) {
      const ids = new Set<string>();
      for (const identifier of identifiers) {
        ids.add((await idOf(identifier, 'earliest-identifier')).id);
        if (!rules.personalTypes.has(identifier.type)) ids.add(identifier.value);
      }
      return [...ids];
    },
    async ofRequest(identifiers) {
      const userId = options.bucketOnUserId ? identifiers.find((i) => i.type === 'user_id') : undefined;
      if (userId) return idOf(userId, 'user-id');
      const anchor = requestAnchor(rules, identifiers);
      return anchor ? idOf(anchor, 'earliest-identifier') : undefined;
    },
  };
}

export class MissingDigestSecretError extends ConfigurationError {
  constructor() {
    super(
      'No experiment-id secret is configured (EXPERIMENT_ID_SECRET, or experimentIdSecret in the secret): personal identifiers cannot be digested',
    );
  }
}
