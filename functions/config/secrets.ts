/**
 * Secrets, from one Secrets Manager JSON secret when deployed (`SECRETS_ARN`), or from environment
 * variables locally. Each entry point builds one `SecretsSource` per container; it caches for a few
 * minutes so a rotation takes effect without a deploy. The Secrets Manager client is imported only
 * when a secret ARN is configured.
 */
import { ConfigurationError, DependencyUnavailableError } from '../core/errors';
import * as z from '../core/zod';
import type { Config } from './env';

export interface Secrets {
  segmentSharedSecret?: string;
  segmentWebhookToken?: string;
  apiKeys: string[];
  optimizelyWebhookSecret?: string;
  /** Key of the digest that turns a personal identifier into an experiment id (never rotate it). */
  experimentIdSecret?: string;
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
  experimentIdSecret: z.optional(z.string().check(z.minLength(16))),
});

const CACHE_MS = 5 * 60_000;
/** A failed load is remembered this long, so a broken secret does not cost a call per request. */
const FAILURE_CACHE_MS = 5_000;

export interface SecretsSource {
  /** The secrets when loaded and fresh, without waiting (the hot path); undefined otherwise. */
  fresh(): Secrets | undefined;
  get(): Promise<Secrets>;
}

export type SecretLoader = () => Promise<Secrets>;

/** A caching source over a loader (the environment, Secrets Manager, or a test's). */
export function cachedSecrets(load: SecretLoader, now: () => number = Date.now): SecretsSource {
  let cached: { secrets: Secrets; at: number } | undefined;
  let failed: { error: unknown; at: number } | undefined;
  let inflight: Promise<Secrets> | undefined;
  const fresh = () => (cached && now() - cached.at < CACHE_MS ? cached.secrets : undefined);
  return {
    fresh,
    async get() {
      const hit = fresh();
      if (hit) return hit;
      if (failed && now() - failed.at < FAILURE_CACHE_MS) throw failed.error;
      inflight ??= load()
        .then(
          (secrets) => {
            cached = { secrets, at: now() };
            failed = undefined;
            return secrets;
          },
          (error: unknown) => {
            failed = { error, at: now() };
            throw error;
          },
        )
        .finally(() => {
          inflight = undefined;
        });
      return inflight;
    },
  };
}

/** The container's secrets source for this configuration. */
export function secretsSource(config: Config): SecretsSource {
  const arn = config.SECRETS_ARN;
  if (arn) return cachedSecrets(() => fromSecretsManager(arn));
  const local: Secrets = { apiKeys: config.API_KEYS ?? [] };
  if (config.SEGMENT_SHARED_SECRET) local.segmentSharedSecret = config.SEGMENT_SHARED_SECRET;
  if (config.SEGMENT_WEBHOOK_TOKEN) local.segmentWebhookToken = config.SEGMENT_WEBHOOK_TOKEN;
  if (config.OPTIMIZELY_WEBHOOK_SECRET) local.optimizelyWebhookSecret = config.OPTIMIZELY_WEBHOOK_SECRET;
  if (config.EXPERIMENT_ID_SECRET) local.experimentIdSecret = config.EXPERIMENT_ID_SECRET;
  return { fresh: () => local, get: async () => local };
}

/** Parses the secret document; the error never quotes the document (it holds secrets). */
export function parseSecretDocument(secretId: string, text: string | undefined): Secrets {
  let json: unknown;
  try {
    json = JSON.parse(text ?? '{}');
  } catch {
    throw new ConfigurationError(`Secret ${secretId} is not a JSON document`);
  }
  const parsed = secretDocumentSchema.safeParse(json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.map(String).join('.')))].join(', ');
    throw new ConfigurationError(
      `Secret ${secretId} is not a valid Crosswalk secret document (fields: ${fields})`,
    );
  }
  const { apiKeys, ...rest } = parsed.data;
  const result: Secrets = { apiKeys };
  if (rest.segmentSharedSecret) result.segmentSharedSecret = rest.segmentSharedSecret;
  if (rest.segmentWebhookToken) result.segmentWebhookToken = rest.segmentWebhookToken;
  if (rest.optimizelyWebhookSecret) result.optimizelyWebhookSecret = rest.optimizelyWebhookSecret;
  if (rest.experimentIdSecret) result.experimentIdSecret = rest.experimentIdSecret;
  return result;
}

async function fromSecretsManager(secretId: string): Promise<Secrets> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  let text: string | undefined;
  try {
    const client = new SecretsManagerClient({});
    text = (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (error) {
    throw new DependencyUnavailableError('Could not read secrets from Secrets Manager', { cause: error });
  }
  return parseSecretDocument(secretId, text);
}
