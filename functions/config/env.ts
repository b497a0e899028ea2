/**
 * Configuration, read once per container from the environment and validated with zod. A bad value
 * fails the cold start with a message naming the variable. Every variable here is documented in
 * the README's configuration reference.
 */
import * as z from 'zod';

const commaList = z.string().transform((s) =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0),
);

const positiveInt = z.coerce.number().int().positive();
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const envSchema = z.object({
  /** DynamoDB table holding the identity cache and stored datafiles. */
  TABLE_NAME: z.string().min(1),
  /** Use this DynamoDB endpoint (DynamoDB Local) instead of AWS's. */
  DYNAMODB_ENDPOINT: z.url().optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** Deployed: ARN of one Secrets Manager JSON secret holding every secret below. */
  SECRETS_ARN: z.string().min(1).optional(),
  /** Local only (deployed values come from SECRETS_ARN). */
  SEGMENT_SHARED_SECRET: z.string().min(1).optional(),
  SEGMENT_WEBHOOK_TOKEN: z.string().min(1).optional(),
  API_KEYS: commaList.optional(),
  OPTIMIZELY_WEBHOOK_SECRET: z.string().min(1).optional(),
  /** Deployed stacks set this to true: refuse requests when no API key is configured. */
  REQUIRE_AUTH: bool.default(false),

  OPTIMIZELY_SDK_KEY: z.string().min(1).optional(),
  OPTIMIZELY_DATAFILE: z.string().min(1).optional(),
  OPTIMIZELY_DATAFILE_URL_TEMPLATE: z
    .string()
    .includes('%s')
    .default('https://cdn.optimizely.com/datafiles/%s.json'),
  OPTIMIZELY_EVENT_ENDPOINT: z.url().default('https://logx.optimizely.com/v1/events'),
  DATAFILE_REVALIDATE_SECONDS: positiveInt.default(60),
  ACCOUNT_BUCKETED_FLAGS: commaList.default([]),
  ACCOUNT_ATTRIBUTE_PREFIX: z.string().default('account_'),
  ALLOW_RESERVED_ATTRIBUTES: bool.default(false),

  IDENTITY_CACHE_TTL_MS: z.coerce.number().int().min(0).default(30_000),
  IDENTITY_CACHE_MAX_ENTRIES: positiveInt.default(10_000),
  /** How long decide/track remember that no profile is known for an identifier list (0 disables). */
  IDENTITY_NEGATIVE_CACHE_TTL_MS: z.coerce.number().int().min(0).default(5_000),
  /** How long a container reuses an account's traits in `resolve()` (0 disables that cache). */
  ACCOUNT_CACHE_TTL_MS: z.coerce.number().int().min(0).default(30_000),
  PROFILE_TTL_DAYS: positiveInt.default(395),
  MESSAGE_ID_TTL_HOURS: positiveInt.default(48),
  /** Regular expressions (comma-separated) of identifier values that never link profiles. */
  IDENTITY_BLOCKED_VALUES: commaList.optional(),
  /** Per-type limits, e.g. `user_id:1,email:5,*:5`. */
  IDENTITY_LIMITS: z.string().optional(),
  /** Identifier types from highest to lowest priority, e.g. `user_id,email,ios.id`. */
  IDENTITY_PRIORITY: commaList.optional(),

  MAX_DECIDE_KEYS: positiveInt.default(100),
  MAX_IDENTIFIERS_PER_REQUEST: positiveInt.default(20),
  MAX_BODY_BYTES: positiveInt.default(64 * 1024),
  MAX_WEBHOOK_BATCH: positiveInt.default(4000),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

let cached: Env | undefined;

/** The validated environment; parsed on first call, then reused for the container's life. */
export function env(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

/** An empty variable counts as unset (`FOO=` in a shell, an empty field in a deploy tool). */
export function parseEnv(source: NodeJS.ProcessEnv): Env {
  const set = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ''));
  const result = envSchema.safeParse(set);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigurationError(`Invalid configuration: ${problems}`);
  }
  return result.data;
}

/** Tests and the local server change the environment between cases. */
export function resetEnvCache(): void {
  cached = undefined;
}
