/**
 * The identifier the identities routes look up, from the path of `GET /v1/identities/{type}/{value}`
 * or the body of `POST /v1/identities/lookup` (`{"type": "…", "value": "…"}`): one schema, so both
 * routes apply the same rules. Path parameters arrive from API Gateway already URL-decoded once
 * (decoding again would turn `%2541` into `A` and show another person). Capped in UTF-8 bytes, as
 * identifiers are everywhere (DynamoDB keys are limited in bytes, not characters).
 */
import * as z from '../core/zod';

const byteCapped = (what: string, max: number, setting: string) =>
  z.string().check(
    z.minLength(1, `${what} is required`),
    z.refine((s) => s.isWellFormed(), `${what} is not well-formed Unicode`),
    z.refine((s) => Buffer.byteLength(s, 'utf8') <= max, `${what} is longer than ${max} bytes (${setting})`),
  );

/** Unknown fields of a lookup body are ignored, as decide ignores them. */
export function identifierSchema(maxIdentifierBytes: number) {
  return z.object({
    type: byteCapped('identifier type', 128, 'identifier types stop at 128 bytes'),
    value: byteCapped('identifier value', maxIdentifierBytes, 'MAX_IDENTIFIER_BYTES'),
  });
}
