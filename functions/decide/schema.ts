/** Request schemas of POST /v1/decide and POST /v1/track: Optimizely Agent's bodies plus `identifiers`. */
import * as z from 'zod';
import { DECIDE_OPTIONS } from '../decisions/decide';

const attributeValue = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: 'must be a string, number, boolean or null',
});

const personFields = {
  userId: z.string().min(1, 'must not be empty').optional(),
  userAttributes: z.record(z.string(), attributeValue).default({}),
  /** Crosswalk's extension: identifiers by type, e.g. {"anonymous_id": "…", "email": "…"}. */
  identifiers: z.record(z.string().min(1), z.string().min(1, 'must not be empty')).optional(),
};

export const decideBodySchema = z.object({
  ...personFields,
  decideOptions: z.array(z.enum(DECIDE_OPTIONS)).default([]),
  forcedDecisions: z
    .array(
      z.object({
        flagKey: z.string().min(1),
        ruleKey: z.string().min(1).optional(),
        variationKey: z.string().min(1),
      }),
    )
    .default([]),
  // Accepted for Agent compatibility; Crosswalk has no ODP segments to fetch.
  fetchSegments: z.boolean().optional(),
  fetchSegmentsOptions: z.array(z.enum(['IGNORE_CACHE', 'RESET_CACHE'])).optional(),
});

export const trackBodySchema = z.object({
  ...personFields,
  eventTags: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
});

export type DecideBody = z.infer<typeof decideBodySchema>;
export type TrackBody = z.infer<typeof trackBodySchema>;

/** One line naming every problem, e.g. `decideOptions.0: Invalid option …; userId: …`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
}
