/**
 * Identifiers, the one concept every layer shares: their type, how a value is normalised, and the
 * key that names one in memory. Requests (decide, track, lookups, compatible reads) and the reader
 * normalise through `normalizeIdentifier`, so `Jane@Example.com ` finds `jane@example.com`; Segment
 * events are trimmed by their schema (segment/spec.ts) and their identifiers built in
 * segment/identity-change.ts with `normalizeIdentifier` / `normalizeEmail`; the console's browser
 * script keeps its own copy of these rules. DynamoDB item keys are built from identifiers by the
 * identity store's adapter (dynamodb/identity-store.ts) alone.
 */

/** An identifier type as Segment Identity Resolution names it: `user_id`, `anonymous_id`, `email`, `ios.id`, … */
export type IdentifierType = string;

/**
 * Segment's own profile id (Profiles Sync's `canonical_segment_id`), linked by a backfill so rows of
 * other exported tables (traits, account links) find their person in any order. A join key only:
 * never the anchor of an experiment id (experiment-id.ts), never listed by the Profile-API-compatible
 * `/external_ids`, never sent to Segment.
 */
export const SEGMENT_ID_TYPE = 'segment_id';

export interface Identifier {
  type: IdentifierType;
  value: string;
}

export function normalizeEmail(value: string): string {
  return value.trim().toLowerCase();
}

/** `+49 (170) 123-4567` → `+491701234567`: the digits, with a leading + kept. */
export function normalizePhone(value: string): string {
  const trimmed = value.trim();
  return (trimmed.startsWith('+') ? '+' : '') + trimmed.replace(/\D/g, '');
}

/**
 * Types are case-insensitive; values are compared as sent (trimmed), except emails (case-insensitive)
 * and phone numbers (digits only).
 */
export function normalizeIdentifier(identifier: Identifier): Identifier {
  const type = identifier.type.trim().toLowerCase();
  const value =
    type === 'email'
      ? normalizeEmail(identifier.value)
      : type === 'phone'
        ? normalizePhone(identifier.value)
        : identifier.value.trim();
  return { type, value };
}

/**
 * The in-memory key of an identifier (maps, sets, cache keys): JSON of the pair, so no type or
 * value, whatever characters it holds, can be mistaken for another pair.
 */
export function identifierKey(identifier: Identifier): string {
  return JSON.stringify([identifier.type, identifier.value]);
}

/** The in-memory key of an ordered identifier list (JSON of the pairs, for the same reason). */
export function identifierListKey(identifiers: readonly Identifier[]): string {
  return JSON.stringify(identifiers.map((i) => [i.type, i.value]));
}

/**
 * C0 and C1 control characters (U+0000–U+001F, U+007F–U+009F): never part of a real identifier,
 * and refused wherever one comes in (requests and Segment events), so no value can forge a
 * separator of a stored key.
 */
export function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/**
 * The rules every identifier value follows, whichever route or field it arrives in (a decide's
 * `userId` or `identifiers`, a Segment event's ids, override/lookup/save): well-formed Unicode (no
 * lone surrogate, which would turn into U+FFFD and merge different ids), no control character, and
 * at most `maxBytes` UTF-8 bytes. Answers the broken rule, or undefined.
 */
export function identifierValueProblem(
  what: string,
  value: string,
  maxBytes: number,
  setting = 'MAX_IDENTIFIER_BYTES',
): string | undefined {
  if (!value.isWellFormed()) return `${what}: not well-formed Unicode (lone surrogate)`;
  if (hasControlCharacter(value)) return `${what}: contains a control character`;
  const size = Buffer.byteLength(value, 'utf8');
  if (size > maxBytes) return `${what}: ${size} bytes; at most ${maxBytes} (${setting})`;
  return undefined;
}
