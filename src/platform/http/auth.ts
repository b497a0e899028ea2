/**
 * API keys, in two scopes: **client** keys (`API_KEYS`, the secret's `apiKeys`) for decide, track,
 * config and datafile, the keys web and mobile apps ship; **operator** keys (`ADMIN_API_KEYS`,
 * `adminApiKeys`) for everything, profile lookups included. A key listed in both has both. Sent as
 * `Authorization: Bearer <key>` or `x-api-key: <key>`, compared in constant time against every
 * configured key. With no key configured at all, a local run is open (as an operator) and a
 * deployed one (`REQUIRE_AUTH`) refuses everything.
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { NotPermittedError, UnauthenticatedError } from '../core/errors';
import type { SecretsSource } from '../secrets';
import type { HttpEvent } from './api-gateway';

export type Scope = 'client' | 'admin';

export interface Caller {
  /** What the key may do: an operator key may do everything a client key may. */
  admin: boolean;
  /**
   * A short name of the key for logs (never the key): an HMAC keyed with the deployment's
   * experiment-id secret (`keyFingerprint`); null when auth is off or no such secret is configured.
   */
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

/** Domain separation: the experiment-id secret keys these fingerprints, and nothing else this way. */
const FINGERPRINT_LABEL = 'crosswalk/api-key-fingerprint/v1:';

/**
 * The name of a key in logs: a keyed HMAC (the deployment's experiment-id secret) of the key,
 * shortened. Without the secret, log lines cannot be turned back into a key by trying candidates
 * offline, however short the key. Null when no secret is configured (nothing is logged then).
 */
export function keyFingerprint(secret: string | undefined, key: string): string | null {
  if (!secret) return null;
  return createHmac('sha256', secret)
    .update(FINGERPRINT_LABEL + key, 'utf8')
    .digest('hex')
    .slice(0, 12);
}

interface KeyList {
  digests: Buffer[];
  /** Fingerprint of each key, for the secret they were computed with. */
  fingerprints?: { secret: string | undefined; names: (string | null)[] };
}

/**
 * The API-key check of one container. Key digests and fingerprints are computed once per key list
 * (the secrets source hands back the same lists until it reloads), not per request.
 */
export function apiKeyAuth(secrets: SecretsSource, options: { requireAuth: boolean }): Authenticate {
  const lists = new WeakMap<readonly string[], KeyList>();
  const listOf = (keys: readonly string[]) => {
    let list = lists.get(keys);
    if (!list) {
      list = { digests: keys.map(digest) };
      lists.set(keys, list);
    }
    return list;
  };
  const fingerprintOf = (keys: readonly string[], index: number, secret: string | undefined) => {
    const list = listOf(keys);
    if (!list.fingerprints || list.fingerprints.secret !== secret) {
      list.fingerprints = { secret, names: keys.map((key) => keyFingerprint(secret, key)) };
    }
    return list.fingerprints.names[index] ?? null;
  };
  return async (event, scope) => {
    const { apiKeys, adminApiKeys, experimentIdSecret } = secrets.fresh() ?? (await secrets.get());
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
    let client = -1;
    let admin = -1;
    listOf(apiKeys).digests.forEach((keyDigest, i) => {
      if (timingSafeEqual(presentedDigest, keyDigest)) client = i;
    });
    listOf(adminApiKeys).digests.forEach((keyDigest, i) => {
      if (timingSafeEqual(presentedDigest, keyDigest)) admin = i;
    });
    if (client < 0 && admin < 0) throw new UnauthenticatedError('Invalid API key');
    if (scope === 'admin' && admin < 0) {
      throw new NotPermittedError(
        'This route needs an operator key (ADMIN_API_KEYS); the key sent is a client key',
      );
    }
    const fingerprint =
      admin >= 0
        ? fingerprintOf(adminApiKeys, admin, experimentIdSecret)
        : fingerprintOf(apiKeys, client, experimentIdSecret);
    return { admin: admin >= 0, fingerprint };
  };
}
