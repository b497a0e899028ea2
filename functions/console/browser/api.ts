/**
 * The console's calls to Crosswalk, the shapes of their answers, and what a failed answer means in
 * plain words. The operator key lives in this tab's sessionStorage only: never in a URL, a cookie
 * or a log.
 */
import type { Identifier } from '../../../src/identity/identifiers';

const KEY_STORAGE = 'crosswalk.operatorKey';

/**
 * The console looks and explains: its decisions must never count as exposures in Optimizely, nor
 * change the person (READ_ONLY: no saved profile, no event; the saved one is still honoured).
 */
const DECIDE_OPTIONS = ['READ_ONLY', 'DISABLE_DECISION_EVENT', 'INCLUDE_REASONS'];

/** Decide's route, with Crosswalk's `identity` block in every decision. */
export const DECIDE_PATH = 'v1/decide?includeIdentity=true';
export const LOOKUP_PATH = 'v1/identities/lookup';

/** One identifier of a profile, as the identities routes list it. */
export interface ProfileIdentifier extends Identifier {
  firstSeen?: string;
}

/** A profile as `POST /v1/identities/lookup` answers it (functions/identity-lookup/handler.ts). */
export interface Profile {
  canonicalId: string;
  canonicalIdFrom?: { type?: string; digested?: boolean; rule?: string };
  userId: string | null;
  identifiers: ProfileIdentifier[];
  traits: Record<string, unknown>;
  audiences: string[];
  accounts: { id: string; traits: Record<string, unknown> }[];
  primaryAccountId: string | null;
}

/** Crosswalk's `identity` block of a decision (asked for with includeIdentity=true). */
export interface DecisionIdentity {
  canonicalId?: string;
  bucketingId?: string;
  accountId?: string | null;
  source?: string;
}

/** One decision, in Optimizely Agent's shape plus the `identity` block. */
export interface Decision {
  flagKey: string;
  variationKey: string;
  enabled: boolean;
  ruleKey: string;
  userContext?: { userId: string; attributes: Record<string, unknown> };
  reasons?: string[];
  identity?: DecisionIdentity;
}

/** An answer: status 0 when the network failed; `name` is the error's name (x-crosswalk-error). */
export interface Answer {
  status: number;
  body: unknown;
  name: string | null;
}

export function storedKey(): string {
  return sessionStorage.getItem(KEY_STORAGE) || '';
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY_STORAGE, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY_STORAGE);
}

/** POSTs JSON with the operator key (and the SDK key, when one is given). */
export async function post(path: string, body: unknown, sdkKey?: string): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-api-key': storedKey() };
  if (sdkKey) headers['x-optimizely-sdk-key'] = sdkKey;
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (error) {
    return { status: 0, body: { error: error instanceof Error ? error.message : String(error) }, name: null };
  }
  let answer: unknown = null;
  try {
    answer = await response.json();
  } catch {
    // Not JSON (a proxy's error page): the status alone has to do.
  }
  // Bodies are Optimizely Agent's {"error": "<message>"}; the error's name is in a header.
  return { status: response.status, body: answer, name: response.headers.get('x-crosswalk-error') };
}

/** decide's body for one identifier: Agent's `userId` for a user id, the `identifiers` extension otherwise. */
export function decideBody(identifier: Identifier): object {
  const who =
    identifier.type === 'user_id'
      ? { userId: identifier.value }
      : { identifiers: { [identifier.type]: identifier.value } };
  return { ...who, decideOptions: DECIDE_OPTIONS };
}

function errorMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  return body.error ? String(body.error) : undefined;
}

/** What a failed answer to the request for `what` means, for the operator. */
export function explain(answer: Answer, what: string): string {
  const error = errorMessage(answer.body);
  const message = error ? ` Crosswalk said: ${error}` : '';
  const name = answer.name;
  switch (true) {
    case answer.status === 0:
      return `Crosswalk could not be reached (network error) while asking for ${what}. Is it running, and is this page served by it?`;
    case answer.status === 401:
      return 'The key was refused (401): it is not a key of this deployment. Forget it and enter an operator key (ADMIN_API_KEYS).';
    case answer.status === 403 && name === 'NotPermittedError':
      return 'This key is not an operator key (403). It is a client key: it may ask for decisions, but not look people up. Forget it and enter an operator key (ADMIN_API_KEYS).';
    case answer.status === 403 && name === 'UnknownProjectError':
      return `This deployment does not serve that project (403): check the SDK key, or leave it empty for the default.${message}`;
    case answer.status === 400:
      return `Crosswalk refused the request for ${what} (400).${message}`;
    case answer.status === 413:
      return `The request for ${what} is too large (413).${message}`;
    case answer.status === 429:
      return 'Too many requests (429): the operator routes are throttled. Wait a moment and try again.';
    case answer.status === 503:
      return `Crosswalk could not answer ${what} (503): one of its dependencies is unavailable for now. Try again in a moment.`;
    case answer.status >= 500:
      return `Crosswalk failed while answering ${what} (${answer.status}). Nothing is wrong with your request; the details are in its logs.`;
    default:
      return `Unexpected answer to ${what} (${answer.status}).${message}`;
  }
}
