/**
 * API keys, in two scopes: **client** keys (`API_KEYS`, the secret's `apiKeys`) for decide, track,
 * config and datafile, the keys web and mobile apps ship; **operator** keys (`ADMIN_API_KEYS`,
 * `adminApiKeys`) for everything, profile lookups included. A key listed in both has both. Sent as
 * `Authorization: Bearer <key>` or `x-api-key: <key>`, compared in constant time against every
 * configured key. With no key configured at all, a local run is open (as an operator) and a
 * deployed one (`REQUIRE_AUTH`) refuses everything.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { SecretsSource } from '../config/secrets';
import { NotPermittedError, UnauthenticatedError } from '../core/errors';
import type { HttpEvent } from './api-gateway';

export type Scope = 'client' | 'admin';

export interface Caller {
  /** What the key may do: an operator key may do everything a client key may. */
  admin: boolean;
  /** A short, non-reversible name of the key for logs (never the key); null when auth is off. */
  fingerprint: string | null;
}

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

/** Authenticates a request for a route that needs `scope`; throws 401 or 403 otherwise. */
export type Authenticate = (event: HttpEvent, scope: Scope) => Promise<Caller>;

const OPEN: Caller = { admin: true, fingerprint: null };

/**
 * The API-key check of one container. Key digests are computed once per key list (the secrets
 * source hands back the same lists until it reloads), not per request.
 */
export function apiKeyAuth(secrets: SecretsSource, options: { requireAuth: boolean }): Authenticate {
  const digests = new WeakMap<readonly string[], Buffer[]>();
  const digestsOf = (keys: readonly string[]) => {
    let list = digests.get(keys);
    if (!list) {
      list = keys.map(digest);
      digests.set(keys, list);
    }
    return list;
  };
  return async (event, scope) => {
    const { apiKeys, adminApiKeys } = secrets.fresh() ?? (await secrets.get());
    if (apiKeys.length === 0 && adminApiKeys.length === 0) {
      if (options.requireAuth)
        throw new UnauthenticatedError('No API keys are configured for this deployment');
      return OPEN;
    }
    const presented = presentedApiKey(event);
    if (!presented)
      throw new UnauthenticatedError('Missing API key: send Authorization: Bearer <key> or x-api-key');
    // Every key is compared, so the time taken does not tell which one nearly matched.
    const presentedDigest = digest(presented);
    let client = false;
    let admin = false;
    for (const keyDigest of digestsOf(apiKeys))
      client = timingSafeEqual(presentedDigest, keyDigest) || client;
    for (const keyDigest of digestsOf(adminApiKeys))
      admin = timingSafeEqual(presentedDigest, keyDigest) || admin;
    if (!client && !admin) throw new UnauthenticatedError('Invalid API key');
    if (scope === 'admin' && !admin) {
      throw new NotPermittedError(
        'This route needs an operator key (ADMIN_API_KEYS); the key sent is a client key',
      );
    }
    return { admin, fingerprint: presentedDigest.toString('hex').slice(0, 12) };
  };
}
