/**
 * Client API keys for decide, track, config, datafile and identities: `Authorization: Bearer <key>`
 * or `x-api-key: <key>`, compared in constant time. With no key configured, auth is off locally
 * (a local run with API_KEYS unset) and refused when `REQUIRE_AUTH` is set, as it is in every deployed stack.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { SecretsSource } from '../config/secrets';
import { UnauthenticatedError } from '../core/errors';
import type { HttpEvent } from './api-gateway';

function digest(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

/** Constant-time equality of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function presentedApiKey(event: HttpEvent): string | undefined {
  // Header names arrive lowercased (API Gateway payload 2.0, and httpHandler for hand-written events).
  const authorization = event.headers?.authorization;
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match?.[1]) return match[1].trim();
  }
  return event.headers?.['x-api-key']?.trim() || undefined;
}

export type ApiKeyCheck = (event: HttpEvent) => Promise<void>;

/**
 * The API-key check of one container. Key digests are computed once per key list (the secrets
 * source hands back the same list until it reloads), not per request.
 */
export function apiKeyCheck(secrets: SecretsSource, options: { requireAuth: boolean }): ApiKeyCheck {
  const digests = new WeakMap<readonly string[], Buffer[]>();
  const digestsOf = (keys: readonly string[]) => {
    let list = digests.get(keys);
    if (!list) {
      list = keys.map(digest);
      digests.set(keys, list);
    }
    return list;
  };
  return async (event) => {
    const { apiKeys } = secrets.fresh() ?? (await secrets.get());
    if (apiKeys.length === 0) {
      if (options.requireAuth)
        throw new UnauthenticatedError('No API keys are configured for this deployment');
      return;
    }
    const presented = presentedApiKey(event);
    if (!presented)
      throw new UnauthenticatedError('Missing API key: send Authorization: Bearer <key> or x-api-key');
    // Check every key so the time taken does not tell which one nearly matched.
    const presentedDigest = digest(presented);
    let ok = false;
    for (const keyDigest of digestsOf(apiKeys)) ok = timingSafeEqual(presentedDigest, keyDigest) || ok;
    if (!ok) throw new UnauthenticatedError('Invalid API key');
  };
}
