/**
 * Which identifier values are personal data, whatever their type: the one rule that decides what
 * is digested before it can become an experiment id (the visitor id Optimizely receives and the key
 * of a saved user profile). A value is personal when its type is one of PERSONAL_IDENTIFIER_TYPES
 * (email, phone by default) or when the value itself looks like an email address or a phone
 * number, so a `userId`, a Segment `user_id`, an anonymous id or a custom external id that carries
 * one is treated exactly as the `email` or `phone` type is (docs/identity-rules.md lists the
 * shapes and their false positives). Values that look like neither keep their ids unchanged.
 */
import type { Identifier } from './identifiers';
import type { IdentityRules } from './rules';

/** Something@domain.tld with no spaces: an email address as people write one. */
const EMAIL_SHAPE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
/** Digits with the separators phone numbers are written with, an optional leading +. */
const PHONE_CHARACTERS = /^\+?[\d\s().\-/]+$/;
const PHONE_SEPARATOR = /[\s().\-/]/;
const MIN_PHONE_DIGITS = 7;
/** E.164 allows at most 15 digits. */
const MAX_PHONE_DIGITS = 15;

export function looksLikeEmail(value: string): boolean {
  return EMAIL_SHAPE.test(value.trim());
}

/**
 * E.164 (`+491701234567`, `+1 555 123 4567`) or a national format written with separators
 * (`(555) 123-4567`, `0170 1234567`, `030/1234567`): 7 to 15 digits. A bare run of digits without
 * `+` is not taken for a phone number: numeric user ids are common, phone numbers written that way
 * are not told apart from them (see the docs).
 */
export function looksLikePhone(value: string): boolean {
  const trimmed = value.trim();
  if (!PHONE_CHARACTERS.test(trimmed)) return false;
  if (!trimmed.startsWith('+') && !PHONE_SEPARATOR.test(trimmed)) return false;
  let digits = 0;
  for (let i = 0; i < trimmed.length; i++) {
    const code = trimmed.charCodeAt(i);
    if (code >= 48 && code <= 57) digits++;
  }
  return digits >= MIN_PHONE_DIGITS && digits <= MAX_PHONE_DIGITS;
}

/** True when an identifier value looks like an email address or a phone number. */
export function looksPersonal(value: string): boolean {
  return value.includes('@') ? looksLikeEmail(value) : looksLikePhone(value);
}

/**
 * True when an identifier is personal data: of a personal type, or of any type with a value that
 * looks personal. Personal identifiers are never used as, or inside, an experiment id (only their
 * keyed digest is), so they never reach Optimizely nor name a saved profile.
 */
export function isPersonalIdentifier(rules: IdentityRules, identifier: Identifier): boolean {
  return rules.personalTypes.has(identifier.type) || looksPersonal(identifier.value);
}
