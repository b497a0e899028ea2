/**
 * The ports of the state Optimizely Agent keeps per project and user, which Crosswalk keeps in
 * DynamoDB so every container sees it: forced variations (POST /v1/override) and user profiles
 * (the user profile service: POST /v1/lookup and /v1/save, and sticky bucketing). Both are keyed by
 * the person's stable experiment id, so they survive identifier changes.
 */

/** Experiment id → the variation a person was bucketed into, as the Optimizely SDK stores it. */
export type ExperimentBucketMap = Record<string, { variation_id: string }>;

export interface OverrideStore {
  /** Every live override of a project: user (experiment id) → experiment key → variation key. */
  list(sdkKey: string): Promise<Map<string, Map<string, string>>>;
  get(sdkKey: string, userId: string, experimentKey: string): Promise<string | null>;
  put(sdkKey: string, userId: string, experimentKey: string, variationKey: string): Promise<void>;
  remove(sdkKey: string, userId: string, experimentKey: string): Promise<void>;
  /** Every SDK key an override was ever set for (what an erasure must look through). */
  projects(): Promise<string[]>;
}

export interface UserProfileStore {
  get(sdkKey: string, userId: string): Promise<ExperimentBucketMap | null>;
  /** Replaces the person's whole profile, as Agent's save does. */
  put(sdkKey: string, userId: string, buckets: ExperimentBucketMap): Promise<void>;
  /**
   * Adds (or changes) `entries` in the person's profile, read earlier as `base` (null: none), keeping
   * entries another container wrote meanwhile. Returns the profile as stored.
   */
  addEntries(
    sdkKey: string,
    userId: string,
    base: ExperimentBucketMap | null,
    entries: ExperimentBucketMap,
  ): Promise<ExperimentBucketMap>;
  /** Deletes the person's profile (a Segment delete's erasure); true when there was one. */
  remove(sdkKey: string, userId: string): Promise<boolean>;
  /** Every SDK key a profile was ever saved for (what an erasure must look through). */
  projects(): Promise<string[]>;
}
