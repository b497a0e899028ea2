/**
 * Where secrets come from: deployed, one Secrets Manager secret per purpose (Segment, API keys,
 * Optimizely webhook, experiment-id digest key, Segment's Profile API token), each read only by the
 * functions that need it (src/platform/routes.ts `secrets`; the stack grants each role its own and
 * passes their ARNs). Locally, from environment variables. Each entry point builds one
 * `SecretsSource` (platform/secrets.ts) per container. The one call, GetSecretValue, is a signed
 * request of its own (secrets-manager.ts), not the SDK's Secrets Manager client.
 */
import { ConfigurationError, DependencyUnavailableError, isTransient } from '../core/errors';
import * as z from '../core/zod';
import type { SecretName } from '../routes';
import { cachedSecrets, type Secrets, type SecretsSource } from '../secrets';
import type { Config } from './env';
import { getSecretValue } from './secrets-manager';

const keyList = z._default(
  z.pipe(
    z.union([z.array(z.string()), z.string()]),
    z.transform((v) =>
      (Array.isArray(v) ? v : v.split(',')).map((k) => k.trim()).filter((k) => k.length > 0),
    ),
  ),
  [],
);
const nonEmpty = z.string().check(z.minLength(1));

/** The JSON document of each secret, by purpose. */
export const secretDocumentSchemas = {
  segment: z.object({ sharedSecret: z.optional(nonEmpty), webhookToken: z.optional(nonEmpty) }),
  apiKeys: z.object({ apiKeys: keyList, adminApiKeys: keyList }),
  optimizelyWebhook: z.object({ secret: nonEmpty }),
  experimentId: z.object({ secret: z.string().check(z.minLength(16)) }),
  profileApi: z.object({ segmentProfileApiToken: nonEmpty }),
} as const;

const ARN_VARIABLE = {
  segment: 'SEGMENT_SECRET_ARN',
  apiKeys: 'API_KEYS_SECRET_ARN',
  optimizelyWebhook: 'OPTIMIZELY_WEBHOOK_SECRET_ARN',
  experimentId: 'EXPERIMENT_ID_SECRET_ARN',
  profileApi: 'PROFILE_API_SECRET_ARN',
} as const satisfies Record<SecretName, keyof Config>;

/**
 * Purposes a container's main secrets source reads. The Profile API token is read on its own, and
 * only when a read-through needs it (functions/from-config.ts), so a deployment that never
 * created that secret runs exactly as before.
 */
export const MAIN_SECRETS: readonly SecretName[] = [
  'segment',
  'apiKeys',
  'optimizelyWebhook',
  'experimentId',
];

/**
 * The container's secrets source. Deployed (any secret ARN set), only the secrets whose ARNs this
 * function was given, of `purposes`, are read; locally, the environment variables are.
 */
export function secretsSource(config: Config, purposes: readonly SecretName[] = MAIN_SECRETS): SecretsSource {
  const arns = (Object.keys(ARN_VARIABLE) as SecretName[])
    .filter((name) => purposes.includes(name))
    .map((name) => [name, config[ARN_VARIABLE[name]]] as const)
    .filter((entry): entry is readonly [SecretName, string] => Boolean(entry[1]));
  const deployed = (Object.keys(ARN_VARIABLE) as SecretName[]).some((name) => config[ARN_VARIABLE[name]]);
  if (arns.length > 0) return cachedSecrets(() => fromSecretsManager(arns));
  if (deployed) {
    const none: Secrets = { apiKeys: [], adminApiKeys: [] };
    return { fresh: () => none, get: async () => none };
  }
  const local: Secrets = { apiKeys: config.API_KEYS ?? [], adminApiKeys: config.ADMIN_API_KEYS ?? [] };
  if (config.SEGMENT_SHARED_SECRET) local.segmentSharedSecret = config.SEGMENT_SHARED_SECRET;
  if (config.SEGMENT_WEBHOOK_TOKEN) local.segmentWebhookToken = config.SEGMENT_WEBHOOK_TOKEN;
  if (config.OPTIMIZELY_WEBHOOK_SECRET) local.optimizelyWebhookSecret = config.OPTIMIZELY_WEBHOOK_SECRET;
  if (config.EXPERIMENT_ID_SECRET) local.experimentIdSecret = config.EXPERIMENT_ID_SECRET;
  if (config.SEGMENT_PROFILE_API_TOKEN) local.segmentProfileApiToken = config.SEGMENT_PROFILE_API_TOKEN;
  return { fresh: () => local, get: async () => local };
}

/**
 * Parses one secret's document into the fields it holds. The error names the secret and the fields
 * at fault, never the document's text (it is a secret).
 */
export function parseSecretDocument(
  name: SecretName,
  secretId: string,
  text: string | undefined,
): Partial<Secrets> {
  let json: unknown;
  try {
    json = JSON.parse(text ?? '{}');
  } catch {
    throw new ConfigurationError(`Secret ${secretId} (${name}) is not a JSON document`);
  }
  const parsed = secretDocumentSchemas[name].safeParse(json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.map(String).join('.') || '(document)'))];
    throw new ConfigurationError(
      `Secret ${secretId} (${name}) is not a valid document (fields: ${fields.join(', ')})`,
    );
  }
  const data = parsed.data as Record<string, unknown>;
  switch (name) {
    case 'segment':
      return {
        ...(data.sharedSecret ? { segmentSharedSecret: data.sharedSecret as string } : {}),
        ...(data.webhookToken ? { segmentWebhookToken: data.webhookToken as string } : {}),
      };
    case 'apiKeys':
      return { apiKeys: data.apiKeys as string[], adminApiKeys: data.adminApiKeys as string[] };
    case 'optimizelyWebhook':
      return { optimizelyWebhookSecret: data.secret as string };
    case 'experimentId':
      return { experimentIdSecret: data.secret as string };
    case 'profileApi':
      return { segmentProfileApiToken: data.segmentProfileApiToken as string };
  }
}

async function fromSecretsManager(arns: readonly (readonly [SecretName, string])[]): Promise<Secrets> {
  const parts = await Promise.all(
    arns.map(async ([name, secretId]) => {
      let text: string | undefined;
      try {
        text = await getSecretValue(secretId);
      } catch (error) {
        // Throttling or an outage may pass; a missing secret or a denied read will not.
        if (isTransient(error)) {
          throw new DependencyUnavailableError(`Could not read secret ${name} from Secrets Manager`, {
            cause: error,
          });
        }
        throw new ConfigurationError(`Secret ${name} (${secretId}) cannot be read: ${(error as Error).name}`);
      }
      return parseSecretDocument(name, secretId, text);
    }),
  );
  return Object.assign({ apiKeys: [], adminApiKeys: [] }, ...parts) as Secrets;
}
