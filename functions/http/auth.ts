/**
 * Client API keys for decide, track, config, datafile and identities: `Authorization: Bearer <key>`
 * or `x-api-key: <key>`. Compared in constant time. With no key configured, auth is off locally
 * (npm start warns) and refused when `REQUIRE_AUTH` is set, as it is in every deployed stack.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import { env } from '../config/env';
import { freshSecrets, secrets } from '../config/secrets';
import type { HttpEvent } from './api-gateway';
import { UnauthorizedError } from './errors';

function digest(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

/** The configured keys' digests, computed once per key list (secrets are cached per container). */
const keyDigests = new WeakMap<readonly string[], Buffer[]>();
function digestsOf(keys: readonly string[]): Buffer[] {
  let digests = keyDigests.get(keys);
  if (!digests) {
    digests = keys.map(digest);
    keyDigests.set(keys, digests);
  }
  return digests;
}

/** Constant-time equality of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function presentedApiKey(event: HttpEvent): string | undefined {
  const headers = event.headers ?? {};
  // Header names arrive lowercased (API Gateway payload 2.0, and httpHandler for hand-written events).
  const authorization = headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match?.[1]) return match[1].trim();
  }
  const apiKey = headers['x-api-key'];
  return apiKey?.trim() || undefined;
}

export async function requireApiKey(event: HttpEvent): Promise<void> {
  const { apiKeys } = freshSecrets() ?? (await secrets());
  if (apiKeys.length === 0) {
    if (env().REQUIRE_AUTH) throw new UnauthorizedError('No API keys are configured for this deployment');
    return;
  }
  const presented = presentedApiKey(event);
  if (!presented)
    throw new UnauthorizedError('Missing API key: send Authorization: Bearer <key> or x-api-key');
  // Check every key so the time taken does not tell which one nearly matched.
  const presentedDigest = digest(presented);
  let ok = false;
  for (const keyDigest of digestsOf(apiKeys)) ok = timingSafeEqual(presentedDigest, keyDigest) || ok;
  if (!ok) throw new UnauthorizedError('Invalid API key');
}
