/**
 * The identity cache's public model: what the Segment webhook writes and what decide/track read.
 * The webhook side (identity rules, merges) and the decide side (attributes, bucketing) meet here.
 */

import type { Identifier } from './identifiers';

export type TraitValue = string | number | boolean | null;

export interface ResolvedAccount {
  id: string;
  traits: Record<string, TraitValue>;
}

/** One person as the decide path needs them, produced by `IdentityReader.resolve`. */
export interface ResolvedProfile {
  profileId: string;
  /** The id Optimizely buckets on: the profile's user_id, else its first-seen identifier's value. */
  canonicalId: string;
  /** The identifier of the request that found the profile. */
  matchedBy: Identifier;
  identifiers: Identifier[];
  traits: Record<string, TraitValue>;
  /** Engage audience keys the person is currently in. */
  audiences: string[];
  /** Every account (Segment group) the person belongs to, ids only. */
  accountIds: string[];
  /** The account used for account-level bucketing (docs/identity-rules.md: most recently joined). */
  primaryAccount: ResolvedAccount | null;
}

/** The read side of the identity store, as decide/track and GET /v1/identities use it. */
export interface IdentityReader {
  /**
   * Finds the profile of the first identifier (in the given order) that is known.
   * One DynamoDB round trip in the common case; null when none is known or all have expired.
   */
  resolve(identifiers: readonly Identifier[]): Promise<ResolvedProfile | null>;
}
