/**
 * The identifier rules (identifiers.ts) as a zod check, for every request schema that takes an
 * identifier or a user id: decide/track/activate/override/lookup/save and the identities routes.
 * One definition, so a `userId` follows exactly the rules of an `identifiers` value.
 */
import * as z from '../platform/core/zod';
import { hasControlCharacter } from './identifiers';

/** The rule every identifier text follows; `required` is the message for an empty one, if refused. */
export function identifierText(what: string, max: number, setting: string, required?: string) {
  return z.string().check(
    ...(required === undefined ? [] : [z.minLength(1, required)]),
    z.refine((s) => s.isWellFormed(), `${what} is not well-formed Unicode`),
    z.refine((s) => !hasControlCharacter(s), `${what} contains a control character`),
    z.refine((s) => Buffer.byteLength(s, 'utf8') <= max, `${what} is longer than ${max} bytes (${setting})`),
  );
}
