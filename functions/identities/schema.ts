/** GET /v1/identities/{type}/{value}: path parameters as API Gateway passes them (URL-decoded). */
import * as z from 'zod';

export const identityPathSchema = z.object({
  type: z.string().trim().min(1, 'identifier type is required').max(100),
  value: z.string().min(1, 'identifier value is required').max(1024),
});

export type IdentityPath = z.infer<typeof identityPathSchema>;
