// Over 300 lines on purpose: one budgeted flow (tombstones, limiter, calls, write) whose steps share the budget and its outcome metrics.
/**
 * The read-through: when none of a request's identifiers is in the identity cache, ask Segment's
 * Profile API for the person, write what it says into the graph through the same ingest rules as a
 * webhook event (profile-change.ts → identity/ingest.ts), and answer with it at once. The next
 * request for any of those identifiers is an ordinary cache hit.
 *
 * Never worse than without it (docs/profile-api.md):
 * - one budget (PROFILE_API_TIMEOUT_MS) bounds everything it adds before the answer: the tombstone
 *   read, the shared limiter, `/external_ids`, then `/traits` ∥ (`/links` → account `/traits`);
 *   what did not arrive within it is not waited for, and a lookup with a call missing writes nothing;
 * - a timeout, 429, 5xx, 401, malformed or oversized answer, or a limiter refusal: nothing is
 *   written, and the caller answers as it would have (on the request's identifiers);
 * - 404: remembered for IDENTITY_NEGATIVE_CACHE_TTL_MS, no second call for that identifier meanwhile;
 * - an identifier with a tombstone (a Segment delete) is never asked for;
 * - concurrent misses for the same identifier in one container share one lookup;
 * - personal identifiers (an email, a phone number, or any value that looks like one) never go into a
 *   Profile API URL, as Segment itself advises; Segment's own profile id is not asked for either.
 */

import {
  type Identifier,
  identifierKey,
  normalizeIdentifier,
  SEGMENT_ID_TYPE,
} from '../identity/identifiers';
import type { IngestOptions } from '../identity/ingest';
import { ingestChanges } from '../identity/ingest';
import type { IdentityReader, ResolvedProfile } from '../identity/model';
import { isPersonalIdentifier } from '../identity/personal-values';
import { type IdentityRules, isBlocked } from '../identity/rules';
import type { IdentityStore } from '../identity/store';
import { LruCache } from '../platform/core/lru-cache';
import type { Observability } from '../platform/observability/logger';
import type { ProfileApiAnswer, ProfileApiClient, ProfileApiFailure, ProfileApiRequest } from './client';
import {
  type LearnedAccount,
  type LearnedTraits,
  type LearnLimits,
  learnedAccounts,
  learnedIdentifiers,
  learnedTraits,
  primaryAccount,
  profileApiChanges,
} from './profile-change';
import type { RateLimiter } from './rate-limiter';

/** What a caller wants besides the identifiers (decide: what its project's datafile declares). */
export interface ReadThroughWants {
  /** User trait names; undefined: every trait (up to TRAITS_PAGE); empty: no `/traits` call. */
  traits?: readonly string[] | undefined;
  /** Whether to ask `/links` (the accounts). */
  links: boolean;
  /** Trait names of the primary account; undefined: every trait; empty: no account `/traits` call. */
  accountTraits?: readonly string[] | undefined;
}

/** Everything: for callers with no project (identity lookups, Profile-API-compatible reads). */
export const WANT_EVERYTHING: ReadThroughWants = { links: true };

export type ReadThroughOutcome =
  /** The person was learned and written; `profile` is set. */
  | 'learned'
  /** Segment does not know the identifier (or said so moments ago). */
  | 'not-found'
  /** No identifier of the request may be asked for (personal, Segment's own id, blocked). */
  | 'not-asked'
  /** An identifier of the request was deleted: never fetched again. */
  | 'tombstoned'
  /** The shared limiter refused the call. */
  | 'limited'
  /** The budget ran out, or the Profile API failed or answered something unusable. */
  | 'failed'
  /** Learned, but the ingest rules kept the identifier asked for out of the graph. */
  | 'refused';

export interface ReadThroughResult {
  profile: ResolvedProfile | null;
  outcome: ReadThroughOutcome;
  /** Profile API calls made for this request (0 when it shared another's or made none). */
  calls: number;
}

export interface ProfileReadThrough {
  resolve(
    identifiers: readonly Identifier[],
    wants?: () => ReadThroughWants | Promise<ReadThroughWants>,
  ): Promise<ReadThroughResult>;
}

/** Trait names one call asks for at most (`limit`, within both readings of Segment's maximum). */
export const TRAITS_PAGE = 100;
/** Identifiers one `/external_ids` call asks for. */
const EXTERNAL_IDS_PAGE = 100;

export interface ReadThroughOptions {
  client: ProfileApiClient;
  limiter: RateLimiter;
  /** Tombstones are read before any call. */
  store: Pick<IdentityStore, 'getTombstones'>;
  /** The webhook's ingest options: same store, rules and retention. */
  ingest: IngestOptions;
  /** Reads back what was written, with strongly consistent reads. */
  reader: IdentityReader;
  /** Tells the container's identity cache what was learned (identity/cache.ts). */
  remember?: (identifiers: readonly Identifier[], profile: ResolvedProfile) => void;
  rules: IdentityRules;
  limits: LearnLimits;
  timeoutMs: number;
  negativeTtlMs: number;
  observability: Observability;
  now?: () => number;
}

/** The first identifier of the (priority-ordered) request that may go into a Profile API URL. */
export function askableIdentifier(
  rules: IdentityRules,
  identifiers: readonly Identifier[],
): Identifier | undefined {
  return identifiers
    .map(normalizeIdentifier)
    .find(
      (i) =>
        i.value !== '' &&
        i.type !== SEGMENT_ID_TYPE &&
        !isBlocked(rules, i) &&
        !isPersonalIdentifier(rules, i),
    );
}

const FAILURE_METRIC: Record<ProfileApiFailure, string> = {
  'not-found': 'ProfileApiNotFound',
  timeout: 'ProfileApiTimeouts',
  throttled: 'ProfileApiThrottled',
  unauthorized: 'ProfileApiErrors',
  unavailable: 'ProfileApiErrors',
  malformed: 'ProfileApiErrors',
  'too-large': 'ProfileApiErrors',
};

class BudgetExceeded extends Error {}

export function createProfileReadThrough(options: ReadThroughOptions): ProfileReadThrough {
  const now = options.now ?? Date.now;
  const { logger, metrics } = options.observability;
  const negative = new LruCache<string, true>({
    maxEntries: 10_000,
    ttlMs: Math.max(0, options.negativeTtlMs),
    now,
  });
  const inflight = new Map<string, Promise<ReadThroughResult>>();

  async function lookup(
    identifiers: readonly Identifier[],
    asked: Identifier,
    wants: () => ReadThroughWants | Promise<ReadThroughWants>,
  ): Promise<ReadThroughResult> {
    const started = now();
    const controller = new AbortController();
    let timer = setTimeout(() => controller.abort(), options.timeoutMs);
    const { signal } = controller;
    /** Time spent waiting for the caller's project: not the read-through's to count. */
    let waited = 0;
    let calls = 0;
    /** Waits for `work` no longer than the budget (the work itself may finish later, unheard). */
    const bounded = <T>(work: Promise<T>): Promise<T> =>
      signal.aborted
        ? Promise.reject(new BudgetExceeded())
        : new Promise<T>((resolve, reject) => {
            const onAbort = () => reject(new BudgetExceeded());
            signal.addEventListener('abort', onAbort, { once: true });
            work.then(
              (value) => {
                signal.removeEventListener('abort', onAbort);
                resolve(value);
              },
              (error: unknown) => {
                signal.removeEventListener('abort', onAbort);
                reject(error);
              },
            );
          });
    const call = async (request: ProfileApiRequest): Promise<ProfileApiAnswer> => {
      calls++;
      metrics.metric('ProfileApiCalls', 1);
      const answer = await options.client.get(request);
      if (!answer.ok) metrics.metric(FAILURE_METRIC[answer.failure], 1);
      return answer;
    };
    const finish = (
      outcome: ReadThroughOutcome,
      profile: ResolvedProfile | null,
      detail: Record<string, unknown> = {},
    ): ReadThroughResult => {
      clearTimeout(timer);
      const ms = now() - started - waited;
      if (outcome === 'learned') metrics.metric('ProfileApiHits', 1);
      if (outcome === 'limited') metrics.metric('ProfileApiLimited', 1);
      metrics.metric('ProfileApiLookupMs', ms, 'Milliseconds');
      const log = detail.failure === 'unauthorized' ? logger.warn : logger.info;
      log('profile api read-through', { outcome, identifierType: asked.type, calls, ms, ...detail });
      return { profile, outcome, calls };
    };

    try {
      const usable = identifiers.map(normalizeIdentifier).filter((i) => i.value !== '');
      const tombstones = await bounded(options.store.getTombstones(usable));
      if (tombstones.size > 0) return finish('tombstoned', null);
      if (!(await bounded(options.limiter.acquire(1)))) return finish('limited', null);

      const fetchedAt = now();
      const found = await call({
        collection: 'users',
        type: asked.type,
        value: asked.value,
        resource: 'external_ids',
        query: { limit: String(EXTERNAL_IDS_PAGE) },
        signal,
      });
      if (!found.ok) {
        if (found.failure === 'not-found') {
          negative.set(identifierKey(asked), true);
          return finish('not-found', null);
        }
        return finish('failed', null, { failure: found.failure });
      }
      const learned = learnedIdentifiers(found.body, {
        asked,
        rules: options.rules,
        limits: options.limits,
        now: fetchedAt,
      });
      if (!learned.ok || learned.value.length === 0) {
        metrics.metric('ProfileApiErrors', 1);
        return finish('failed', null, { failure: 'malformed' });
      }

      // Then, within what is left of the budget: traits ∥ (links → the primary account's traits).
      // What they are depends on the caller's project, which the caller waits for anyway (a cold
      // container loads its datafile meanwhile): that wait is not charged to the budget.
      clearTimeout(timer);
      const waiting = now();
      const want = await wants();
      waited = now() - waiting;
      const left = options.timeoutMs - (now() - started - waited);
      if (left <= 0) controller.abort();
      else timer = setTimeout(() => controller.abort(), left);
      const traitsWanted = want.traits === undefined || want.traits.length > 0;
      const accountTraitsWanted =
        want.links && (want.accountTraits === undefined || want.accountTraits.length > 0);
      const permits = (traitsWanted ? 1 : 0) + (want.links ? 1 : 0) + (accountTraitsWanted ? 1 : 0);
      let traits: LearnedTraits | undefined;
      let accounts: LearnedAccount[] | undefined;
      let accountTraits: LearnedTraits | undefined;
      const incomplete: string[] = [];
      if (permits > 0 && !(await bounded(options.limiter.acquire(permits)).catch(() => false))) {
        return finish('limited', null);
      }
      if (permits > 0) {
        /**
         * One optional part of the person: not found → nothing; a failure or an unusable answer →
         * nothing, noted as `<part>:<failure>` in `incomplete`.
         */
        const part = async <T>(
          name: string,
          request: Omit<ProfileApiRequest, 'signal'>,
          parse: (body: unknown) => { ok: true; value: T } | { ok: false },
        ): Promise<T | undefined> => {
          const answer = await call({ ...request, signal });
          if (!answer.ok && answer.failure === 'not-found') return undefined;
          const parsed = answer.ok ? parse(answer.body) : { ok: false as const };
          if (parsed.ok) return parsed.value;
          incomplete.push(answer.ok ? `${name}:malformed` : `${name}:${answer.failure}`);
          return undefined;
        };
        const person = { collection: 'users', type: asked.type, value: asked.value } as const;
        const traitsCall = async () => {
          if (!traitsWanted) return;
          traits = await part(
            'traits',
            { ...person, resource: 'traits', query: traitsQuery(want.traits) },
            (body) => learnedTraits(body, { limits: options.limits, fetchedAt }),
          );
        };
        const accountsCall = async () => {
          if (!want.links) return;
          accounts = await part('links', { ...person, resource: 'links' }, (body) =>
            learnedAccounts(body, { limits: options.limits, now: fetchedAt }),
          );
          const primary = accounts && primaryAccount(accounts);
          if (!primary || !accountTraitsWanted) return;
          // An account Segment has no profile of keeps its id, without traits.
          accountTraits = await part(
            'account-traits',
            {
              collection: 'accounts',
              type: 'group_id',
              value: primary.id,
              resource: 'traits',
              query: traitsQuery(want.accountTraits),
            },
            (body) => learnedTraits(body, { limits: options.limits, fetchedAt }),
          );
        };
        await Promise.all([traitsCall(), accountsCall()]);
      }
      clearTimeout(timer);
      // All or nothing: a person written without the traits or the account that did not arrive in
      // time would keep them missing until Segment sends them again (a group call may never come
      // again). Answered as without it; the next request asks again.
      if (incomplete.length > 0) return finish('failed', null, { failure: 'incomplete', incomplete });

      // What the Profile API said is written through the webhook's rules, then read back.
      const changes = profileApiChanges({ identifiers: learned.value, traits, accounts, accountTraits });
      const ingested = await ingestChanges(changes, options.ingest);
      const refused = ingested.results.find((r) => r.status === 'rejected');
      if (refused) {
        negative.set(identifierKey(asked), true);
        return finish('refused', null, { reason: refused.reason });
      }
      const profile = await options.reader.resolve(identifiers);
      if (!profile) {
        negative.set(identifierKey(asked), true);
        return finish('refused', null, {
          reason: 'the identity limits kept the identifier asked for out of its profile',
        });
      }
      options.remember?.(identifiers, profile);
      return finish('learned', profile);
    } catch (error) {
      if (error instanceof BudgetExceeded) {
        metrics.metric('ProfileApiTimeouts', 1);
        return finish('failed', null, { failure: 'timeout' });
      }
      // A storage fault (the tombstone read, the limiter, the ingest): answered as without it.
      logger.warn('profile api read-through failed', { error, identifierType: asked.type });
      return finish('failed', null, { failure: 'storage' });
    }
  }

  return {
    async resolve(identifiers, wants = () => WANT_EVERYTHING) {
      const asked = askableIdentifier(options.rules, identifiers);
      if (!asked) return { profile: null, outcome: 'not-asked', calls: 0 };
      const key = identifierKey(asked);
      if (negative.get(key)) return { profile: null, outcome: 'not-found', calls: 0 };
      const shared = inflight.get(key);
      if (shared) return { ...(await shared), calls: 0 };
      const pending = lookup(identifiers, asked, wants).finally(() => inflight.delete(key));
      inflight.set(key, pending);
      return pending;
    },
  };
}

/** The query of a `/traits` call: the names wanted (at most TRAITS_PAGE), verbose for update times. */
function traitsQuery(names: readonly string[] | undefined): Record<string, string> {
  if (names === undefined || names.length > TRAITS_PAGE)
    return { limit: String(TRAITS_PAGE), verbose: 'true' };
  return { include: names.join(','), limit: String(names.length), verbose: 'true' };
}
