/**
 * Configuration: every environment variable the functions read, validated once per container by
 * `loadConfig`. A bad value fails the cold start (and `npm start`, before anything is started) with
 * one line naming the variable, what is wrong and what would be right. docs/configuration.md
 * documents exactly these variables (a test keeps the two in step), and the CDK stack derives the
 * variables a deployer may pass through from `scope` below.
 */

import { parseLimits } from '../../identity/rules';
import { ConfigurationError } from '../core/errors';
import * as z from '../core/zod';

/** Attribute names that look personal: never sent to Optimizely, even when a datafile declares them. */
export const DEFAULT_PERSONAL_ATTRIBUTES = [
  'email',
  'phone',
  'phone_number',
  'mobile',
  'name',
  'first_name',
  'last_name',
  'firstname',
  'lastname',
  'full_name',
  'address',
  'street',
  'postal_code',
  'zip',
  'birthday',
  'date_of_birth',
  'ip',
] as const;

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
const regexList = commaList.check(
  z.refine(
    (patterns) =>
      patterns.every((p) => {
        try {
          new RegExp(p, 'i');
          return true;
        } catch {
          return false;
        }
      }),
    'contains a pattern that is not a valid regular expression',
  ),
);
const limitsSpec = z.string().check(
  z.refine((spec) => {
    try {
      parseLimits(spec);
      return true;
    } catch {
      return false;
    }
  }, 'is not a list of type:n limits'),
);

/**
 * Who sets a variable: `stack` (the CDK stack, fixed), `deploy` (a deployer may pass it through CDK
 * context or the deploying shell), `local` (npm start, tests and SAM local only: deployed stacks
 * read secrets from Secrets Manager and talk to AWS's DynamoDB).
 */
export type VariableScope = 'stack' | 'deploy' | 'local';

interface Variable<S extends z.ZodMiniType = z.ZodMiniType> {
  schema: S;
  scope: VariableScope;
  /** What a valid value looks like, for the error message. */
  expect: string;
  /** Never echoed in error messages. */
  secret?: boolean;
}

const variable = <S extends z.ZodMiniType>(
  scope: VariableScope,
  schema: S,
  expect: string,
  secret = false,
): Variable<S> => ({ scope, schema, expect, ...(secret ? { secret } : {}) });

export const variables = {
  TABLE_NAME: variable('stack', nonEmpty, 'the DynamoDB table name'),
  DYNAMODB_ENDPOINT: variable('local', z.optional(z.url()), 'a URL such as http://127.0.0.1:8000'),
  LOG_LEVEL: variable(
    'deploy',
    z._default(z.enum(['debug', 'info', 'warn', 'error', 'silent']), 'info'),
    'one of debug, info, warn, error, silent',
  ),
  CROSSWALK_METRICS: variable('deploy', z._default(z.enum(['on', 'off']), 'on'), 'on or off'),
  SEGMENT_SECRET_ARN: variable('stack', z.optional(nonEmpty), 'a Secrets Manager secret ARN'),
  API_KEYS_SECRET_ARN: variable('stack', z.optional(nonEmpty), 'a Secrets Manager secret ARN'),
  OPTIMIZELY_WEBHOOK_SECRET_ARN: variable('stack', z.optional(nonEmpty), 'a Secrets Manager secret ARN'),
  EXPERIMENT_ID_SECRET_ARN: variable('stack', z.optional(nonEmpty), 'a Secrets Manager secret ARN'),
  PROFILE_API_SECRET_ARN: variable('stack', z.optional(nonEmpty), 'a Secrets Manager secret ARN'),
  SEGMENT_SHARED_SECRET: variable('local', z.optional(nonEmpty), 'a non-empty secret', true),
  SEGMENT_WEBHOOK_TOKEN: variable('local', z.optional(nonEmpty), 'a non-empty token', true),
  API_KEYS: variable('local', z.optional(commaList), 'a comma-separated list of keys', true),
  ADMIN_API_KEYS: variable('local', z.optional(commaList), 'a comma-separated list of keys', true),
  OPTIMIZELY_WEBHOOK_SECRET: variable('local', z.optional(nonEmpty), 'a non-empty secret', true),
  REQUIRE_AUTH: variable('stack', z._default(bool, false), 'true or false'),

  OPTIMIZELY_SDK_KEY: variable('deploy', z.optional(nonEmpty), 'an Optimizely SDK key'),
  OPTIMIZELY_SDK_KEYS: variable(
    'deploy',
    z.optional(commaList),
    'a comma-separated list of the SDK keys this deployment serves, or *',
  ),
  OPTIMIZELY_DATAFILE: variable('local', z.optional(nonEmpty), 'the path of a datafile JSON file'),
  OPTIMIZELY_DATAFILE_URL_TEMPLATE: variable(
    'deploy',
    z._default(z.string().check(z.includes('%s')), 'https://cdn.optimizely.com/datafiles/%s.json'),
    'a URL containing %s where the SDK key goes',
  ),
  OPTIMIZELY_EVENT_ENDPOINT: variable(
    'deploy',
    z._default(z.url(), 'https://logx.optimizely.com/v1/events'),
    'a URL',
  ),
  OPTIMIZELY_CMAB_PREDICTION_ENDPOINT: variable(
    'deploy',
    z._default(z.string().check(z.includes('%s')), 'https://prediction.cmab.optimizely.com/predict/%s'),
    'a URL containing %s where the CMAB rule id goes',
  ),
  OPTIMIZELY_CMAB_TIMEOUT_MS: variable(
    'deploy',
    z._default(positiveInt.check(z.lte(10_000)), 1_000),
    'a whole number of ms from 1 to 10000 (a failed prediction is tried twice, so a CMAB decision can take twice this)',
  ),
  DATAFILE_REVALIDATE_SECONDS: variable('deploy', z._default(positiveInt, 60), 'a whole number ≥ 1'),
  EVENT_DELIVERY_TIMEOUT_MS: variable(
    'deploy',
    z._default(positiveInt.check(z.lte(5_000)), 3_000),
    'a whole number of ms from 1 to 5000 (the flush must end well inside the invocation)',
  ),
  EVENT_RETRY_BASE_MS: variable('deploy', z._default(positiveInt, 60_000), 'a whole number of ms ≥ 1'),
  EVENT_RETRY_MAX_MS: variable('deploy', z._default(positiveInt, 600_000), 'a whole number of ms ≥ 1'),
  EVENT_MAX_AGE_HOURS: variable('deploy', z._default(positiveInt, 24), 'a whole number of hours ≥ 1'),
  EVENT_REDELIVERY_INTERVAL_MS: variable('local', z._default(positiveInt, 5_000), 'a whole number of ms ≥ 1'),
  ACCOUNT_BUCKETED_FLAGS: variable(
    'deploy',
    z._default(commaList, []),
    'a comma-separated list of flag keys, or *',
  ),
  ACCOUNT_ATTRIBUTE_PREFIX: variable(
    'deploy',
    z._default(z.string(), 'account_'),
    'a prefix such as account_',
  ),
  ALLOW_RESERVED_ATTRIBUTES: variable('deploy', z._default(bool, false), 'true or false'),

  DECIDE_READ_TIMEOUT_MS: variable(
    'deploy',
    z._default(positiveInt.check(z.lte(5_000)), 1_000),
    'a whole number of ms from 1 to 5000 (decide must answer well inside its timeout)',
  ),
  IDENTITY_CACHE_TTL_MS: variable('deploy', z._default(nonNegativeInt, 30_000), 'a whole number ≥ 0'),
  IDENTITY_CACHE_MAX_ENTRIES: variable('deploy', z._default(positiveInt, 10_000), 'a whole number ≥ 1'),
  IDENTITY_NEGATIVE_CACHE_TTL_MS: variable('deploy', z._default(nonNegativeInt, 5_000), 'a whole number ≥ 0'),
  ACCOUNT_CACHE_TTL_MS: variable('deploy', z._default(nonNegativeInt, 30_000), 'a whole number ≥ 0'),
  ACCOUNT_CACHE_MAX_ENTRIES: variable('deploy', z._default(positiveInt, 10_000), 'a whole number ≥ 1'),
  PROFILE_TTL_DAYS: variable('deploy', z._default(positiveInt, 395), 'a whole number ≥ 1'),
  MESSAGE_ID_TTL_HOURS: variable('deploy', z._default(positiveInt, 48), 'a whole number ≥ 1'),
  IDENTITY_BLOCKED_VALUES: variable(
    'deploy',
    z.optional(regexList),
    'comma-separated regular expressions, e.g. ^test-,^0+$',
  ),
  IDENTITY_LIMITS: variable('deploy', z.optional(limitsSpec), 'type:n pairs, e.g. user_id:1,email:5,*:5'),
  IDENTITY_PRIORITY: variable('deploy', z.optional(commaList), 'identifier types, e.g. user_id,email,ios.id'),
  PERSONAL_IDENTIFIER_TYPES: variable(
    'deploy',
    z._default(commaList, ['email', 'phone']),
    'identifier types whose values are personal data, e.g. email,phone',
  ),
  BUCKET_ON_USER_ID: variable('deploy', z._default(bool, false), 'true or false'),
  PERSONAL_ATTRIBUTES: variable(
    'deploy',
    z._default(commaList, [...DEFAULT_PERSONAL_ATTRIBUTES]),
    'a comma-separated list of attribute names',
  ),
  EXPERIMENT_ID_SECRET: variable(
    'local',
    z.optional(z.string().check(z.minLength(16))),
    'a random secret of 16 or more characters',
    true,
  ),

  ENABLE_OVERRIDES: variable('deploy', z._default(bool, false), 'true or false'),
  OVERRIDE_TTL_DAYS: variable('deploy', z._default(positiveInt, 30), 'a whole number of days ≥ 1'),
  OVERRIDE_CACHE_TTL_MS: variable('deploy', z._default(nonNegativeInt, 10_000), 'a whole number ≥ 0'),
  USER_PROFILE_SERVICE: variable('deploy', z._default(z.enum(['off', 'dynamodb']), 'off'), 'off or dynamodb'),
  USER_PROFILE_TTL_DAYS: variable('deploy', z._default(positiveInt, 395), 'a whole number of days ≥ 1'),
  BATCH_OPERATIONS_LIMIT: variable('deploy', z._default(positiveInt, 500), 'a whole number ≥ 1'),
  BATCH_MAX_CONCURRENCY: variable('deploy', z._default(positiveInt, 10), 'a whole number ≥ 1'),
  BATCH_MAX_IDENTIFIERS: variable('deploy', z._default(positiveInt, 1_000), 'a whole number ≥ 1'),
  BATCH_MAX_DYNAMODB_REQUESTS: variable('deploy', z._default(positiveInt, 2_000), 'a whole number ≥ 1'),
  BATCH_MAX_EVENTS: variable('deploy', z._default(positiveInt, 2_000), 'a whole number ≥ 1'),
  BATCH_MAX_BODY_BYTES: variable(
    'deploy',
    z._default(positiveInt.check(z.lte(6 * 1024 * 1024)), 1024 * 1024),
    'a whole number of bytes from 1 to 6291456 (Lambda takes at most 6 MB)',
  ),

  MAX_DECIDE_KEYS: variable('deploy', z._default(positiveInt, 100), 'a whole number ≥ 1'),
  MAX_IDENTIFIERS_PER_REQUEST: variable('deploy', z._default(positiveInt, 20), 'a whole number ≥ 1'),
  MAX_BODY_BYTES: variable('deploy', z._default(positiveInt, 64 * 1024), 'a whole number of bytes ≥ 1'),
  MAX_WEBHOOK_BATCH: variable('deploy', z._default(positiveInt, 4000), 'a whole number ≥ 1'),
  MAX_EVENT_BYTES: variable('deploy', z._default(positiveInt, 32 * 1024), 'a whole number of bytes ≥ 1'),
  MAX_IDENTIFIER_BYTES: variable(
    'deploy',
    z._default(positiveInt.check(z.lte(1024)), 1024),
    'a whole number of bytes from 1 to 1024 (DynamoDB keys stop at 2,048 bytes)',
  ),
  MAX_TRAITS_PER_EVENT: variable('deploy', z._default(positiveInt, 200), 'a whole number ≥ 1'),
  MAX_TRAIT_KEY_BYTES: variable('deploy', z._default(positiveInt, 256), 'a whole number of bytes ≥ 1'),
  MAX_TRAIT_VALUE_BYTES: variable('deploy', z._default(positiveInt, 8 * 1024), 'a whole number of bytes ≥ 1'),
  MAX_EVENT_AGE_DAYS: variable('deploy', z._default(positiveInt, 395), 'a whole number of days ≥ 1'),
  DELETE_TOMBSTONE_DAYS: variable('deploy', z._default(positiveInt, 400), 'a whole number of days ≥ 1'),

  // Segment's Profile API (docs/profile-api.md): read-through on a miss, off until a space is named
  // and a token is configured.
  SEGMENT_PROFILE_API_URL: variable(
    'deploy',
    z._default(z.url(), 'https://profiles.segment.com'),
    'a URL such as https://profiles.segment.com (EU: https://profiles.euw1.segment.com)',
  ),
  SEGMENT_SPACE_ID: variable('deploy', z.optional(nonEmpty), 'the id of the Segment space (Unify settings)'),
  SEGMENT_PROFILE_API_TOKEN: variable('local', z.optional(nonEmpty), 'a Profile API access token', true),
  PROFILE_API_TIMEOUT_MS: variable(
    'deploy',
    z._default(positiveInt.check(z.lte(5_000)), 250),
    'a whole number of ms from 1 to 5000',
  ),
  PROFILE_API_MAX_RPS: variable(
    'deploy',
    z._default(positiveInt.check(z.gte(2), z.lte(1_000)), 80),
    'a whole number from 2 to 1000 (Segment allows 100 per second per space)',
  ),
  S3_ENDPOINT: variable('local', z.optional(z.url()), 'a URL such as http://127.0.0.1:5000 (moto server)'),
} satisfies Record<string, Variable>;

export type VariableName = keyof typeof variables;

type Shape = { [K in VariableName]: (typeof variables)[K]['schema'] };
const shape = Object.fromEntries(Object.entries(variables).map(([name, v]) => [name, v.schema])) as Shape;
export const configSchema = z.object(shape);

export type Config = z.infer<typeof configSchema>;

/** Variables a deployer may set for the functions (CDK context or shell), derived from `scope`. */
export const deployableVariables = (Object.keys(variables) as VariableName[]).filter(
  (name) => variables[name].scope === 'deploy',
);

/** Variables that only make sense outside AWS (DynamoDB Local, secrets from the environment). */
export const localVariables = (Object.keys(variables) as VariableName[]).filter(
  (name) => variables[name].scope === 'local',
);

/**
 * Validates `source` (process.env by default) once. An empty variable counts as unset (`FOO=` in a
 * shell, an empty field in a deploy tool or a SAM env-vars file). Throws a ConfigurationError whose
 * message is one line per problem, each naming the variable, the problem and the fix.
 */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const set: Record<string, string> = {};
  for (const name of Object.keys(variables)) {
    const value = source[name];
    if (value !== undefined && value !== '') set[name] = value;
  }
  const result = configSchema.safeParse(set);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '') as VariableName;
    const spec = variables[name];
    if (!spec) return issue.message;
    const value = set[name];
    const shown = value === undefined ? 'is not set' : spec.secret ? 'is invalid' : `is ${quote(value)}`;
    const fix =
      value === undefined ? `set it to ${spec.expect}` : `use ${spec.expect}, or unset it for the default`;
    const problem = issue.message
      .replace(/^Invalid input: /, '')
      .replace('expected number, received NaN', 'not a number');
    return `${name} ${shown}: ${problem}; ${fix}`;
  });
  throw new ConfigurationError(problems.join('\n'));
}

function quote(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}…` : value);
}
