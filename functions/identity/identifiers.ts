/**
 * Identifiers, the one concept every layer shares: their type, how a value is normalised before any
 * use (Segment ingest, decide/track requests and lookups all go through `normalizeIdentifier`, so
 * `Jane@Example.com ` finds `jane@example.com`), and the key that names one in memory. DynamoDB item
 * keys are built from these by the storage adapter alone.
 */

/** An identifier type as Segment Identity Resolution names it: `user_id`, `anonymous_id`, `email`, `ios.id`, … */
export type IdentifierType = string;

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

/** The in-memory key of an identifier (maps, sets, cache keys). */
export function identifierKey(identifier: Identifier): string {
  return `${identifier.type}\u0000${identifier.value}`;
}

/** The in-memory key of an ordered identifier list. */
export function identifierListKey(identifiers: readonly Identifier[]): string {
  return identifiers.map(identifierKey).join('\u0001');
}
