/** Request schemas of POST /v1/decide and POST /v1/track: Optimizely Agent's bodies plus `identifiers`. */
import * as z from 'zod/mini';
import '../config/zod-messages';
import { DECIDE_OPTIONS } from '../decisions/decide';

const attributeValue = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: 'must be a string, number, boolean or null',
});

const personFields = {
  userId: z.optional(z.string().check(z.minLength(1, 'must not be empty'))),
  userAttributes: z._default(z.record(z.string(), attributeValue), {}),
  /** Crosswalk's extension: identifiers by type, e.g. {"anonymous_id": "…", "email": "…"}. */
  identifiers: z.optional(
    z.record(z.string().check(z.minLength(1)), z.string().check(z.minLength(1, 'must not be empty'))),
  ),
};

export const decideBodySchema = z.object({
  ...personFields,
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

export const trackBodySchema = z.object({
  ...personFields,
  eventTags: z._default(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])), {}),
});

export type DecideBody = z.infer<typeof decideBodySchema>;
export type TrackBody = z.infer<typeof trackBodySchema>;

/** One line naming every problem, e.g. `decideOptions.0: Invalid option …; userId: …`. */
export function describeIssues(error: z.core.$ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
}
