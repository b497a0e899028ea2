/**
 * Secrets, from one Secrets Manager JSON secret when deployed (`SECRETS_ARN`), or from environment
 * variables locally. Cached per container for a few minutes so a rotation takes effect without a
 * deploy. The Secrets Manager client is imported only when a secret ARN is configured.
 */
import * as z from 'zod/mini';
import { TransientError } from '../http/errors';
import { env } from './env';
import './zod-messages';

export interface Secrets {
  segmentSharedSecret?: string;
  segmentWebhookToken?: string;
  apiKeys: string[];
  optimizelyWebhookSecret?: string;
}

const keyList = z.pipe(
  z.union([z.array(z.string()), z.string()]),
  z.transform((v) => (Array.isArray(v) ? v : v.split(',')).map((k) => k.trim()).filter((k) => k.length > 0)),
);
const nonEmpty = z.string().check(z.minLength(1));

/** The JSON document stored in the Secrets Manager secret. */
export const secretDocumentSchema = z.object({
  segmentSharedSecret: z.optional(nonEmpty),
  segmentWebhookToken: z.optional(nonEmpty),
  apiKeys: z._default(keyList, []),
  optimizelyWebhookSecret: z.optional(nonEmpty),
});

const CACHE_MS = 5 * 60_000;
let cached: { secrets: Secrets; at: number } | undefined;
let inflight: Promise<Secrets> | undefined;

/** The container's secrets when they are loaded and fresh, without waiting (the hot path). */
export function freshSecrets(): Secrets | undefined {
  return cached && Date.now() - cached.at < CACHE_MS ? cached.secrets : undefined;
}

export async function secrets(): Promise<Secrets> {
  const fresh = freshSecrets();
  if (fresh) return fresh;
  inflight ??= loadSecrets().finally(() => {
    inflight = undefined;
  });
  return inflight;
}

async function loadSecrets(): Promise<Secrets> {
  const config = env();
  let result: Secrets;
  if (config.SECRETS_ARN) {
    result = await fromSecretsManager(config.SECRETS_ARN);
  } else {
    result = { apiKeys: config.API_KEYS ?? [] };
    if (config.SEGMENT_SHARED_SECRET) result.segmentSharedSecret = config.SEGMENT_SHARED_SECRET;
    if (config.SEGMENT_WEBHOOK_TOKEN) result.segmentWebhookToken = config.SEGMENT_WEBHOOK_TOKEN;
    if (config.OPTIMIZELY_WEBHOOK_SECRET) result.optimizelyWebhookSecret = config.OPTIMIZELY_WEBHOOK_SECRET;
  }
  cached = { secrets: result, at: Date.now() };
  return result;
}

async function fromSecretsManager(secretId: string): Promise<Secrets> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  let text: string | undefined;
  try {
    const client = new SecretsManagerClient({});
    text = (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (error) {
    throw new TransientError('Could not read secrets from Secrets Manager', { cause: error });
  }
  const parsed = secretDocumentSchema.safeParse(JSON.parse(text ?? '{}'));
  if (!parsed.success)
    throw new Error(`Secret ${secretId} is not a valid Crosswalk secret document: ${parsed.error.message}`);
  const { apiKeys, ...rest } = parsed.data;
  const result: Secrets = { apiKeys };
  for (const [k, v] of Object.entries(rest))
    if (v !== undefined) (result as unknown as Record<string, string>)[k] = v;
  return result;
}

/** Tests and the local server change the environment between cases. */
export function resetSecretsCache(): void {
  cached = undefined;
}
