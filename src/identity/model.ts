/**
 * The identity cache's public model: what the Segment webhook writes and what decide/track read.
 * The webhook side (identity rules, merges) and the decide side (attributes, bucketing) meet here.
 */

import type { AnchoredProfile } from './experiment-id';
import type { Identifier } from './identifiers';

export type TraitValue = string | number | boolean | null;

export interface ResolvedAccount {
  id: string;
  traits: Record<string, TraitValue>;
}

/** An identifier of a profile, with when it was first seen (epoch ms; absent in legacy items). */
export interface ProfileIdentifier extends Identifier {
  firstSeen?: number;
}

/**
 * One person as the decide path needs them, produced by `IdentityReader.resolve`. The experiment id
 * is derived from `anchor` (experiment-id.ts), never stored as a value, so no personal identifier
 * ends up as an id.
 */
export interface ResolvedProfile extends AnchoredProfile {
  profileId: string;
  /** The identifier of the request that found the profile. */
  matchedBy: Identifier;
  identifiers: ProfileIdentifier[];
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
  /** What a cache in front of the store holds for these identifiers, without reading (undefined: not held). */
  held?(identifiers: readonly Identifier[]): ResolvedProfile | null | undefined;
}
