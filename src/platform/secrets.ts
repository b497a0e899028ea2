/**
 * What a function's secrets are, and the source it reads them from: the port the HTTP auth, the
 * webhooks and the experiment-id digest depend on. Where the values come from (Secrets Manager,
 * local variables) is the configuration's business (platform/config/secrets.ts). The source caches for a few
 * minutes, so a rotation takes effect without a deploy, and remembers a failed load briefly, so a
 * broken secret does not cost a call per request.
 */

export interface Secrets {
  segmentSharedSecret?: string;
  segmentWebhookToken?: string;
  /** Client keys: decide, track, config, datafile. */
  apiKeys: string[];
  /** Operator keys: every route, profile lookups included. */
  adminApiKeys: string[];
  optimizelyWebhookSecret?: string;
  /** Key of the digest that turns a personal identifier into an experiment id (never rotate it). */
  experimentIdSecret?: string;
  /** Segment's Profile API access token (the read-through, docs/profile-api.md). */
  segmentProfileApiToken?: string;
}

const CACHE_MS = 5 * 60_000;
const FAILURE_CACHE_MS = 5_000;

export interface SecretsSource {
  /** The secrets when loaded and fresh, without waiting (the hot path); undefined otherwise. */
  fresh(): Secrets | undefined;
  get(): Promise<Secrets>;
}

export type SecretLoader = () => Promise<Secrets>;

/** A caching source over a loader (Secrets Manager, or a test's). */
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
