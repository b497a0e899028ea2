/**
 * Request schemas of POST /v1/decide and POST /v1/track: Optimizely Agent's bodies plus Crosswalk's
 * `identifiers`, with the deployment's caps in the schema itself (so a parsed body is a valid one
 * and its type comes from the schema, never a cast).
 */
import * as z from '../core/zod';
import { RESERVED_PREFIX } from '../decisions/attributes';
import { DECIDE_OPTIONS } from '../decisions/decide';

export interface RequestLimits {
  maxIdentifiers: number;
  maxIdentifierBytes: number;
  /** When false, `$opt_` attribute keys are refused (ALLOW_RESERVED_ATTRIBUTES). */
  allowReserved: boolean;
}

const attributeValue = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: 'must be a string, number, boolean or null',
});

const identifierText = (what: string, max: number, setting: string) =>
  z.string().check(
    z.minLength(1, `${what} must not be empty`),
    z.refine((s) => s.isWellFormed(), `${what} is not well-formed Unicode`),
    z.refine((s) => Buffer.byteLength(s, 'utf8') <= max, `${what} is longer than ${max} bytes (${setting})`),
  );

/** Body fields whose keys come from the caller: `__proto__`, `constructor` and `prototype` are refused. */
export const KEYED_FIELDS = ['userAttributes', 'identifiers', 'eventTags'] as const;

function personFields(limits: RequestLimits) {
  const attributes = z.record(z.string(), attributeValue);
  return {
    userId: z.optional(z.string().check(z.minLength(1, 'must not be empty'))),
    userAttributes: z._default(
      limits.allowReserved
        ? attributes
        : attributes.check(
            z.refine((a) => !Object.keys(a).some((k) => k.startsWith(RESERVED_PREFIX)), {
              error: (issue) =>
                `reserved keys may not be set: ${Object.keys(issue.input as object)
                  .filter((k) => k.startsWith(RESERVED_PREFIX))
                  .join(', ')}`,
            }),
          ),
      {},
    ),
    /** Crosswalk's extension: identifiers by type, e.g. {"anonymous_id": "…", "email": "…"}. */
    identifiers: z.optional(
      z
        .record(
          identifierText('type', 128, 'identifier types stop at 128 bytes'),
          identifierText('value', limits.maxIdentifierBytes, 'MAX_IDENTIFIER_BYTES'),
        )
        .check(
          z.refine((ids) => Object.keys(ids).length <= limits.maxIdentifiers, {
            error: (issue) =>
              `${Object.keys(issue.input as object).length} given, at most ${limits.maxIdentifiers} per request (MAX_IDENTIFIERS_PER_REQUEST)`,
          }),
        ),
    ),
  };
}

export function decideBodySchema(limits: RequestLimits) {
  return z.object({
    ...personFields(limits),
    decideOptions: z._default(z.array(z.enum(DECIDE_OPTIONS)), []),
    forcedDecisions: z._default(
      z.array(
        z.object({
          flagKey: z.string().check(z.minLength(1)),
          ruleKey: z.optional(z.string().check(z.minLength(1))),
          variationKey: z.string().check(z.minLength(1)),
        }),
      ),
      [],
    ),
    // Accepted for Agent compatibility; Crosswalk has no ODP segments to fetch.
    fetchSegments: z.optional(z.boolean()),
    fetchSegmentsOptions: z.optional(z.array(z.enum(['IGNORE_CACHE', 'RESET_CACHE']))),
  });
}

export function trackBodySchema(limits: RequestLimits) {
  return z.object({
    ...personFields(limits),
    eventTags: z._default(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])), {}),
  });
}
