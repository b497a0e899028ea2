/** Optimizely's datafile webhook body (`project.datafile_updated`). */
import * as z from '../../src/platform/core/zod';

export const optimizelyWebhookSchema = z.object({
  project_id: z.union([z.number(), z.string()]),
  timestamp: z.optional(z.number()),
  event: z.string().check(z.minLength(1)),
  data: z.looseObject({
    revision: z.optional(z.union([z.number(), z.string()])),
    cdn_url: z.url(),
    origin_url: z.optional(z.string()),
    environment: z.optional(z.string()),
  }),
});

/** The SDK key of a datafile URL such as https://cdn.optimizely.com/datafiles/<sdkKey>.json. */
export function sdkKeyFromDatafileUrl(url: string): string | undefined {
  const match = /\/datafiles\/([A-Za-z0-9_-]+)\.json$/.exec(new URL(url).pathname);
  return match?.[1];
}
