/**
 * The identifier the identities routes look up, from the path of `GET /v1/identities/{type}/{value}`
 * or the body of `POST /v1/identities/lookup` (`{"type": "…", "value": "…"}`): one schema, so both
 * routes apply the same rules. Path parameters arrive from API Gateway already URL-decoded once
 * (decoding again would turn `%2541` into `A` and show another person). Capped in UTF-8 bytes, as
 * identifiers are everywhere (DynamoDB keys are limited in bytes, not characters).
 */

import { identifierText } from '../../src/identity/identifier-schema';
import * as z from '../../src/platform/core/zod';

const byteCapped = (what: string, max: number, setting: string) =>
  identifierText(what, max, setting, `${what} is required`);

/** Unknown fields of a lookup body are ignored, as decide ignores them. */
export function identifierSchema(maxIdentifierBytes: number) {
  return z.object({
    type: byteCapped('identifier type', 128, 'identifier types stop at 128 bytes'),
    value: byteCapped('identifier value', maxIdentifierBytes, 'MAX_IDENTIFIER_BYTES'),
  });
}
