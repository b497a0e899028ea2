/**
 * Deploy-time settings of the stack, read from CDK context (`-c name=value` or cdk.json). Runtime
 * settings the functions read (env.ts) pass through under their own names, from context or else
 * from the deploying shell's environment, and are validated here so a bad value fails the synth
 * instead of a cold start. No setting triggers a lookup: synth stays offline.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { deployableVariables, loadConfig } from '../functions/config/env';

/** Runtime variables a deployer may set: the env schema's `deploy` scope (functions/config/env.ts). */
export const PASS_THROUGH_VARIABLES = deployableVariables;

export interface CrosswalkSettings {
  removalPolicy: RemovalPolicy;
  /** Name of the Secrets Manager secret, used when `secretArn` is not given. */
  secretName: string;
  /** Complete ARN of the secret; gives the tightest grant (no `-??????` suffix wildcard). */
  secretArn?: string;
  throttleRateLimit: number;
  throttleBurstLimit: number;
  logRetention: RetentionDays;
  /** Pass-through runtime variables, already validated. */
  functionEnvironment: Record<string, string>;
}

export const DEFAULT_SECRET_NAME = 'crosswalk/secrets';

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
  // TABLE_NAME is the stack's to set; a placeholder lets the schema check everything else.
  try {
    loadConfig({ TABLE_NAME: 'validated-at-synth', ...functionEnvironment });
  } catch (error) {
    throw new SettingsError(`Invalid function settings: ${(error as Error).message}`);
  }

  const settings: CrosswalkSettings = {
    removalPolicy: removal === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    secretName: text('secretName') ?? DEFAULT_SECRET_NAME,
    throttleRateLimit: positive('throttleRateLimit', 100),
    throttleBurstLimit: positive('throttleBurstLimit', 200),
    logRetention: days as RetentionDays,
    functionEnvironment,
  };
  const secretArn = text('secretArn');
  if (secretArn !== undefined) settings.secretArn = secretArn;
  return settings;
}
