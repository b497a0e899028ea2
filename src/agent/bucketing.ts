/**
 * Which id buckets each flag: flags named in ACCOUNT_BUCKETED_FLAGS (or all, with `*`) bucket on
 * the person's primary account id through Optimizely's reserved `$opt_bucketing_id`, so everyone
 * at one company sees the same variation; every other flag buckets on the canonical user id. A
 * person with no primary account is bucketed on their user id for every flag. Events always carry
 * the canonical user id.
 */
export function isAccountBucketed(flagKey: string, accountBucketedFlags: readonly string[]): boolean {
  return accountBucketedFlags.includes('*') || accountBucketedFlags.includes(flagKey);
}

/** The account id to bucket this flag on, or null to bucket on the user id. */
export function accountBucketingId(
  flagKey: string,
  accountBucketedFlags: readonly string[],
  primaryAccountId: string | null,
): string | null {
  if (primaryAccountId === null) return null;
  return isAccountBucketed(flagKey, accountBucketedFlags) ? primaryAccountId : null;
}
