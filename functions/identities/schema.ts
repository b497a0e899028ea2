/** GET /v1/identities/{type}/{value}: path parameters as API Gateway passes them (URL-decoded). */
import * as z from '../core/zod';

export const identityPathSchema = z.object({
  type: z.string().check(z.trim(), z.minLength(1, 'identifier type is required'), z.maxLength(100)),
  value: z.string().check(z.minLength(1, 'identifier value is required'), z.maxLength(1024)),
});
