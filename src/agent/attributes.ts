/**
 * The attributes Crosswalk hands the Optimizely SDK for one person, built from plain data:
 *
 *   1. the person's traits (from Segment identify calls),
 *   2. their Engage audiences, each as a boolean attribute named by the audience key set to `true`
 *      (the same name and value Engage writes as a trait, so a flag can target either way),
 *   3. the primary account's traits, each prefixed with ACCOUNT_ATTRIBUTE_PREFIX (`plan` → `account_plan`),
 *   4. the request's `userAttributes`, which win on conflicts.
 *
 * Then only keys the datafile declares survive (plus reserved `$opt_` keys Crosswalk or an allowed
 * caller sets), so traits such as email or names never reach Optimizely's event endpoint.
 */
import type { ResolvedProfile } from '../identity/model';

export type AttributeValue = string | number | boolean | null;
export type Attributes = Record<string, AttributeValue>;

export const RESERVED_PREFIX = '$opt_';
export const BUCKETING_ID_ATTRIBUTE = '$opt_bucketing_id';

/** Request attribute keys callers may not set (reserved `$opt_` keys) unless allowed by config. */
export function reservedKeys(attributes: Attributes): string[] {
  return Object.keys(attributes).filter((k) => k.startsWith(RESERVED_PREFIX));
}

/** Traits, audiences and primary-account traits of a resolved profile, before filtering. */
export function profileAttributes(profile: ResolvedProfile | null, accountPrefix: string): Attributes {
  if (!profile) return {};
  const out: Attributes = {};
  for (const [key, value] of Object.entries(profile.traits)) out[key] = value;
  for (const audience of profile.audiences) out[audience] = true;
  if (profile.primaryAccount) {
    for (const [key, value] of Object.entries(profile.primaryAccount.traits))
      out[`${accountPrefix}${key}`] = value;
  }
  return out;
}

export interface AttributeInput {
  profile: ResolvedProfile | null;
  requestAttributes: Attributes;
  declared: ReadonlySet<string>;
  accountPrefix: string;
  /** When false, `$opt_` keys from the request are dropped (the handler refuses them first). */
  allowReserved: boolean;
}

interface DeclaredProfileAttributes {
  declared: ReadonlySet<string>;
  accountPrefix: string;
  allowReserved: boolean;
  attributes: Attributes;
}

/**
 * A profile's declared attributes, computed once per cached profile object: warm decides reuse the
 * identity cache's profile, so the trait walk and filter run once per profile and datafile.
 */
const declaredByProfile = new WeakMap<ResolvedProfile, DeclaredProfileAttributes>();

function keep(key: string, declared: ReadonlySet<string>, allowReserved: boolean): boolean {
  return declared.has(key) || (allowReserved && key.startsWith(RESERVED_PREFIX));
}

function declaredProfileAttributes(input: AttributeInput): Attributes {
  const { profile, declared, accountPrefix, allowReserved } = input;
  if (!profile) return {};
  const memo = declaredByProfile.get(profile);
  if (
    memo &&
    memo.declared === declared &&
    memo.accountPrefix === accountPrefix &&
    memo.allowReserved === allowReserved
  ) {
    return memo.attributes;
  }
  const attributes: Attributes = {};
  for (const [key, value] of Object.entries(profileAttributes(profile, accountPrefix))) {
    // null carries no information for audience evaluation and is not a valid event attribute value.
    if (value !== null && keep(key, declared, allowReserved)) attributes[key] = value;
  }
  declaredByProfile.set(profile, { declared, accountPrefix, allowReserved, attributes });
  return attributes;
}

/** The attributes passed to the SDK: merged, the request winning, then only declared keys kept. */
export function buildAttributes(input: AttributeInput): Attributes {
  const out: Attributes = { ...declaredProfileAttributes(input) };
  for (const [key, value] of Object.entries(input.requestAttributes)) {
    if (key.startsWith(RESERVED_PREFIX) && !input.allowReserved) continue;
    // A null request value removes the attribute, as it removes it from the SDK's evaluation.
    if (value === null) delete out[key];
    else if (keep(key, input.declared, input.allowReserved)) out[key] = value;
  }
  return out;
}

/** The attributes Crosswalk itself holds for the person: their declared traits, audiences and account traits. */
export function storedAttributes(input: Omit<AttributeInput, 'requestAttributes'>): Attributes {
  return declaredProfileAttributes({ ...input, requestAttributes: {} });
}

/**
 * True when the request's `userAttributes` change what the SDK is given: a key it keeps (declared,
 * or an allowed `$opt_` key), or a null that removes a stored attribute. Keys the datafile does not
 * declare are dropped before the SDK sees them, so they change nothing.
 */
export function requestChangesAttributes(input: AttributeInput): boolean {
  const keys = Object.keys(input.requestAttributes);
  if (keys.length === 0) return false;
  const stored = declaredProfileAttributes(input);
  for (const key of keys) {
    if (key.startsWith(RESERVED_PREFIX) && !input.allowReserved) continue;
    if (input.requestAttributes[key] === null) {
      if (Object.hasOwn(stored, key)) return true;
    } else if (keep(key, input.declared, input.allowReserved)) return true;
  }
  return false;
}
