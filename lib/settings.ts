/**
 * Deploy-time settings of the stack, read from CDK context (`-c name=value` or cdk.json). Runtime
 * settings the functions read (env.ts) pass through under their own names, from context or else
 * from the deploying shell's environment, and are validated here so a bad value fails the synth
 * instead of a cold start. No setting triggers a lookup: synth stays offline.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { deployableVariables, loadConfig } from '../src/platform/config/env';
import type { SecretName, ThrottleGroup } from '../src/platform/routes';

/** Runtime variables a deployer may set: the env schema's `deploy` scope (src/platform/config/env.ts). */
export const PASS_THROUGH_VARIABLES = deployableVariables;

export type ThrottleSettings = Record<ThrottleGroup, { rateLimit: number; burstLimit: number }>;

export interface CrosswalkSettings {
  removalPolicy: RemovalPolicy;
  /** Per purpose: a complete ARN (tightest grant), or a name to import by. */
  secrets: Record<SecretName, { arn?: string; name: string }>;
  /** Stage-wide default for routes without a group of their own. */
  throttleRateLimit: number;
  throttleBurstLimit: number;
  /** Per route group (src/platform/routes.ts `throttle`). */
  throttles: ThrottleSettings;
  /** Reserved concurrency of the Segment webhook: a backfill can never take all of the account's. */
  segmentReservedConcurrency: number;
  /**
   * Reserved concurrency of decide, which also caps it: a flood of decides (or a slow event API
   * lengthening every invocation) cannot take the concurrency the identities, redelivery and
   * webhook functions need.
   */
  decideReservedConcurrency: number;
  /** The S3 bucket the backfill function may read (Segment's archive, Profiles Sync exports); unset: none. */
  backfillBucket?: string;
  /** Alarm notifications: an email to subscribe to a new SNS topic, or an existing topic. */
  alarmEmail?: string;
  alarmTopicArn?: string;
  logRetention: RetentionDays;
  /** Pass-through runtime variables, already validated. */
  functionEnvironment: Record<string, string>;
  /**
   * Set when the deployer named no projects (OPTIMIZELY_SDK_KEYS): the template is synthesized with
   * EXAMPLE_SDK_KEY so `npm run synth` works on a fresh clone, and the stack makes CloudFormation
   * refuse to deploy it.
   */
  exampleSettings?: string;
}

/** The SDK key of a template synthesized without OPTIMIZELY_SDK_KEYS: an example, never deployable. */
export const EXAMPLE_SDK_KEY = 'example-sdk-key-set-OPTIMIZELY_SDK_KEYS';

export const DEFAULT_SECRET_PREFIX = 'crosswalk/';
const SECRET_SUFFIX: Record<SecretName, string> = {
  segment: 'segment',
  apiKeys: 'api-keys',
  optimizelyWebhook: 'optimizely-webhook',
  experimentId: 'experiment-id',
  profileApi: 'profile-api',
};

export const DEFAULT_THROTTLES: ThrottleSettings = {
  decisions: { rateLimit: 1000, burstLimit: 2000 },
  webhooks: { rateLimit: 50, burstLimit: 100 },
  identities: { rateLimit: 5, burstLimit: 10 },
  // Code written for Segment's Profile API calls it per request (Segment allows 100/s per space).
  profiles: { rateLimit: 500, burstLimit: 1000 },
  health: { rateLimit: 10, burstLimit: 20 },
};

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** Reads settings from context, falling back to `shellEnv` for pass-through runtime variables. */
export function readSettings(node: Node, shellEnv: NodeJS.ProcessEnv = process.env): CrosswalkSettings {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    return Array.isArray(value) ? value.join(',') : String(value);
  };
  const positive = (key: string, fallback: number): number => {
    const raw = text(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0)
      throw new SettingsError(`context ${key} must be a positive integer, got ${raw}`);
    return n;
  };

  const removal = (text('removalPolicy') ?? 'retain').toLowerCase();
  if (removal !== 'retain' && removal !== 'destroy') {
    throw new SettingsError(`context removalPolicy must be retain or destroy, got ${removal}`);
  }

  const days = positive('logRetentionDays', 30);
  if (!Object.values(RetentionDays).includes(days)) {
    throw new SettingsError(
      `context logRetentionDays must be a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, …), got ${days}`,
    );
  }

  const functionEnvironment: Record<string, string> = {};
  for (const name of PASS_THROUGH_VARIABLES) {
    const value = text(name) ?? (shellEnv[name] || undefined);
    if (value !== undefined) functionEnvironment[name] = value;
  }
  // A deployment serves the projects it names: the caller must not choose where data goes. Without
  // them the template is an example (offline `npm run synth` on a fresh clone) that cannot deploy.
  let exampleSettings: string | undefined;
  if (!functionEnvironment.OPTIMIZELY_SDK_KEYS) {
    exampleSettings =
      'OPTIMIZELY_SDK_KEYS is not set, so this template uses an example SDK key and cannot be deployed: set it (context -c OPTIMIZELY_SDK_KEYS=key1,key2, or the shell) to the SDK keys this deployment serves, or * for any';
    functionEnvironment.OPTIMIZELY_SDK_KEYS = EXAMPLE_SDK_KEY;
  }
  // TABLE_NAME is the stack's to set; a placeholder lets the schema check everything else.
  try {
    loadConfig({ TABLE_NAME: 'validated-at-synth', ...functionEnvironment });
  } catch (error) {
    throw new SettingsError(`Invalid function settings: ${(error as Error).message}`);
  }

  const prefix = text('secretPrefix') ?? DEFAULT_SECRET_PREFIX;
  const secrets = Object.fromEntries(
    (Object.keys(SECRET_SUFFIX) as SecretName[]).map((name) => {
      const arn = text(`${name}SecretArn`);
      return [name, { name: `${prefix}${SECRET_SUFFIX[name]}`, ...(arn ? { arn } : {}) }];
    }),
  ) as CrosswalkSettings['secrets'];

  const throttles = Object.fromEntries(
    (Object.keys(DEFAULT_THROTTLES) as ThrottleGroup[]).map((group) => [
      group,
      {
        rateLimit: positive(`${group}RateLimit`, DEFAULT_THROTTLES[group].rateLimit),
        burstLimit: positive(`${group}BurstLimit`, DEFAULT_THROTTLES[group].burstLimit),
      },
    ]),
  ) as ThrottleSettings;

  const settings: CrosswalkSettings = {
    removalPolicy: removal === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    secrets,
    throttleRateLimit: positive('throttleRateLimit', 100),
    throttleBurstLimit: positive('throttleBurstLimit', 200),
    throttles,
    segmentReservedConcurrency: positive('segmentReservedConcurrency', 10),
    decideReservedConcurrency: positive('decideReservedConcurrency', 200),
    logRetention: days as RetentionDays,
    functionEnvironment,
    ...(exampleSettings ? { exampleSettings } : {}),
  };
  const backfillBucket = text('backfillBucket');
  if (backfillBucket !== undefined) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(backfillBucket))
      throw new SettingsError(`context backfillBucket must be an S3 bucket name, got ${backfillBucket}`);
    settings.backfillBucket = backfillBucket;
  }
  const alarmEmail = text('alarmEmail');
  if (alarmEmail !== undefined) settings.alarmEmail = alarmEmail;
  const alarmTopicArn = text('alarmTopicArn');
  if (alarmTopicArn !== undefined) settings.alarmTopicArn = alarmTopicArn;
  return settings;
}
