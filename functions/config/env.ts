/**
 * Configuration, read once per container from the environment and validated with zod. A bad value
 * fails the cold start with a message naming the variable. Every variable here is documented in
 * the README's configuration reference.
 */
import * as z from 'zod/mini';
import './zod-messages';

const commaList = z.pipe(
  z.string(),
  z.transform((s) =>
    s
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v.length > 0),
  ),
);

const positiveInt = z.coerce.number().check(z.int(), z.positive());
const nonNegativeInt = z.coerce.number().check(z.int(), z.gte(0));
const bool = z.pipe(
  z.enum(['true', 'false', '1', '0', 'yes', 'no']),
  z.transform((v) => v === 'true' || v === '1' || v === 'yes'),
);
const nonEmpty = z.string().check(z.minLength(1));

export const envSchema = z.object({
  /** DynamoDB table holding the identity cache and stored datafiles. */
  TABLE_NAME: nonEmpty,
  /** Use this DynamoDB endpoint (DynamoDB Local) instead of AWS's. */
  DYNAMODB_ENDPOINT: z.optional(z.url()),
  LOG_LEVEL: z._default(z.enum(['debug', 'info', 'warn', 'error']), 'info'),
  /** Deployed: ARN of one Secrets Manager JSON secret holding every secret below. */
  SECRETS_ARN: z.optional(nonEmpty),
  /** Local only (deployed values come from SECRETS_ARN). */
  SEGMENT_SHARED_SECRET: z.optional(nonEmpty),
  SEGMENT_WEBHOOK_TOKEN: z.optional(nonEmpty),
  API_KEYS: z.optional(commaList),
  OPTIMIZELY_WEBHOOK_SECRET: z.optional(nonEmpty),
  /** Deployed stacks set this to true: refuse requests when no API key is configured. */
  REQUIRE_AUTH: z._default(bool, false),

  OPTIMIZELY_SDK_KEY: z.optional(nonEmpty),
  OPTIMIZELY_DATAFILE: z.optional(nonEmpty),
  OPTIMIZELY_DATAFILE_URL_TEMPLATE: z._default(
    z.string().check(z.includes('%s')),
    'https://cdn.optimizely.com/datafiles/%s.json',
  ),
  OPTIMIZELY_EVENT_ENDPOINT: z._default(z.url(), 'https://logx.optimizely.com/v1/events'),
  DATAFILE_REVALIDATE_SECONDS: z._default(positiveInt, 60),
  ACCOUNT_BUCKETED_FLAGS: z._default(commaList, []),
  ACCOUNT_ATTRIBUTE_PREFIX: z._default(z.string(), 'account_'),
  ALLOW_RESERVED_ATTRIBUTES: z._default(bool, false),

  IDENTITY_CACHE_TTL_MS: z._default(nonNegativeInt, 30_000),
  IDENTITY_CACHE_MAX_ENTRIES: z._default(positiveInt, 10_000),
  /** How long decide/track remember that no profile is known for an identifier list (0 disables). */
  IDENTITY_NEGATIVE_CACHE_TTL_MS: z._default(nonNegativeInt, 5_000),
  /** How long a container reuses an account's traits in `resolve()` (0 disables that cache). */
  ACCOUNT_CACHE_TTL_MS: z._default(nonNegativeInt, 30_000),
  /** How many accounts' traits a container keeps (small items: 10,000 is a few MB). */
  ACCOUNT_CACHE_MAX_ENTRIES: z._default(positiveInt, 10_000),
  PROFILE_TTL_DAYS: z._default(positiveInt, 395),
  MESSAGE_ID_TTL_HOURS: z._default(positiveInt, 48),
  /** Regular expressions (comma-separated) of identifier values that never link profiles. */
  IDENTITY_BLOCKED_VALUES: z.optional(commaList),
  /** Per-type limits, e.g. `user_id:1,email:5,*:5`. */
  IDENTITY_LIMITS: z.optional(z.string()),
  /** Identifier types from highest to lowest priority, e.g. `user_id,email,ios.id`. */
  IDENTITY_PRIORITY: z.optional(commaList),

  MAX_DECIDE_KEYS: z._default(positiveInt, 100),
  MAX_IDENTIFIERS_PER_REQUEST: z._default(positiveInt, 20),
  MAX_BODY_BYTES: z._default(positiveInt, 64 * 1024),
  MAX_WEBHOOK_BATCH: z._default(positiveInt, 4000),
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
