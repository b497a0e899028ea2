/** Optimizely's datafile webhook body (`project.datafile_updated`). */
import * as z from 'zod';

export const optimizelyWebhookSchema = z.object({
  project_id: z.union([z.number(), z.string()]),
  timestamp: z.number().optional(),
  event: z.string().min(1),
  data: z
    .object({
      revision: z.union([z.number(), z.string()]).optional(),
      cdn_url: z.url(),
      origin_url: z.string().optional(),
      environment: z.string().optional(),
    })
    .loose(),
});

export type OptimizelyWebhookBody = z.infer<typeof optimizelyWebhookSchema>;

/** The SDK key of a datafile URL such as https://cdn.optimizely.com/datafiles/<sdkKey>.json. */
export function sdkKeyFromDatafileUrl(url: string): string | undefined {
  const match = /\/datafiles\/([A-Za-z0-9_-]+)\.json$/.exec(new URL(url).pathname);
  return match?.[1];
}
