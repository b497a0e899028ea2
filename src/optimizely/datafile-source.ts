/**
 * Where a project's datafile comes from, per SDK key, for the life of a container:
 *
 * 1. `OPTIMIZELY_DATAFILE` (a local file) for the default SDK key: no fetching at all.
 * 2. The datafile stored in DynamoDB (written by the Optimizely webhook or by any container that
 *    fetched a newer one), so a cold start does not depend on the CDN.
 * 3. The CDN (`OPTIMIZELY_DATAFILE_URL_TEMPLATE`), when nothing is stored.
 *
 * A held datafile is served as is and revalidated in the background once it is older than
 * `DATAFILE_REVALIDATE_SECONDS` (a conditional GET on the CDN, so an unchanged datafile costs no
 * DynamoDB request at all); a newer revision replaces it and is persisted. A failed revalidation
 * keeps serving what is held. An SDK key with no datafile anywhere is an unknown project (403, as
 * Optimizely Agent answers); a CDN that cannot be reached while nothing is stored is a dependency
 * fault (503: a retry may help).
 */
import { readFile } from 'node:fs/promises';
import {
  CrosswalkError,
  DependencyUnavailableError,
  faultKind,
  InvalidRequestError,
  UnknownProjectError,
} from '../platform/core/errors';
import { LruCache } from '../platform/core/lru-cache';
import { type OutboundFetch, type OutboundResponse, outboundFetch } from '../platform/http/outbound';
import { type Observability, silent } from '../platform/observability/logger';
import type { DatafileStore, StoredDatafile } from './datafile-store';

const FETCH_TIMEOUT_MS = 3_000;
/** How long an SDK key known to have no datafile is answered 403 without asking again. */
const MISSING_TTL_MS = 10_000;
/** SDK keys are short base62-ish tokens; anything else never reaches a URL or a DynamoDB key. */
const SDK_KEY_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;

export interface DatafileSourceOptions {
  store: DatafileStore;
  urlTemplate: string;
  revalidateMs: number;
  /** The local override: this SDK key is served from this file. */
  localFile?: { sdkKey: string; path: string };
  fetchFn?: OutboundFetch;
  now?: () => number;
  /** Bound on SDK keys held per container (least recently used dropped first). */
  maxKeys?: number;
  /** The SDK keys this deployment serves (OPTIMIZELY_SDK_KEYS); `*` serves any. */
  allowedSdkKeys?: readonly string[];
  observability?: Observability;
}

interface Held {
  datafile: StoredDatafile;
  checkedAt: number;
  revalidating?: Promise<void>;
  /** True for the local file override: never revalidated. */
  pinned: boolean;
}

type FetchOutcome =
  | { kind: 'fetched'; datafile: StoredDatafile }
  | { kind: 'not-modified' }
  | { kind: 'missing'; status: number };

/** The revision of a datafile text; throws when the text is not a datafile. */
export function datafileRevision(text: string): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('datafile is not JSON');
  }
  const record = parsed as { version?: unknown; revision?: unknown } | null;
  if (!record || typeof record !== 'object' || record.version === undefined) {
    throw new Error('datafile has no version');
  }
  const revision = Number(record.revision);
  if (!Number.isFinite(revision)) throw new Error('datafile has no numeric revision');
  return revision;
}

/** Optimizely Agent's answer (403) for an SDK key it has no datafile for, word for word. */
export const UNKNOWN_SDK_KEY =
  'unable to fetch fresh datafile (consider rechecking SDK key), status code: 403 Forbidden';

export function isValidSdkKey(sdkKey: string): boolean {
  return SDK_KEY_PATTERN.test(sdkKey);
}

export class DatafileSource {
  private readonly held: LruCache<string, Held>;
  private readonly loading = new Map<string, Promise<Held>>();
  /** SDK keys known to have no datafile, answered without asking again for a while. */
  private readonly missing: LruCache<string, true>;
  private readonly fetchFn: OutboundFetch;
  private readonly now: () => number;
  private readonly obs: Observability;

  constructor(private readonly options: DatafileSourceOptions) {
    this.fetchFn = options.fetchFn ?? outboundFetch;
    this.now = options.now ?? Date.now;
    this.obs = options.observability ?? silent;
    const maxEntries = options.maxKeys ?? 20;
    this.held = new LruCache({ maxEntries, ttlMs: Number.POSITIVE_INFINITY, now: this.now });
    this.missing = new LruCache({ maxEntries: 10 * maxEntries, ttlMs: MISSING_TTL_MS, now: this.now });
  }

  /**
   * Refuses, before any fetch or write, an SDK key this deployment does not serve: the caller must
   * not choose which project's declared attributes (and events) a person's data goes to.
   */
  private checkServed(sdkKey: string): void {
    if (!isValidSdkKey(sdkKey)) {
      throw new InvalidRequestError('sdkKey failed validation', {
        detail: `SDK key ${JSON.stringify(sdkKey.slice(0, 40))} has characters SDK keys never have`,
      });
    }
    const allowed = this.options.allowedSdkKeys ?? ['*'];
    if (!allowed.includes('*') && !allowed.includes(sdkKey)) {
      throw new UnknownProjectError(UNKNOWN_SDK_KEY, {
        detail: `SDK key ${sdkKey} is not served by this deployment (OPTIMIZELY_SDK_KEYS)`,
      });
    }
  }

  /** The datafile to serve now for this SDK key (possibly revalidating in the background). */
  async get(sdkKey: string): Promise<StoredDatafile> {
    this.checkServed(sdkKey);
    const held = this.servedHeld(sdkKey);
    if (held) return held;
    if (this.missing.has(sdkKey)) throw this.unavailable(sdkKey);
    let loading = this.loading.get(sdkKey);
    if (!loading) {
      loading = this.load(sdkKey).finally(() => this.loading.delete(sdkKey));
      this.loading.set(sdkKey, loading);
    }
    return (await loading).datafile;
  }

  /**
   * What `get` answers, now, for an SDK key whose datafile the container holds (revalidating in the
   * background as `get` does); undefined for any other key, whose `get` loads it or says why not.
   */
  getHeld(sdkKey: string): StoredDatafile | undefined {
    // Only a key `checkServed` let through is ever held (every `hold` follows it, and what it checks
    // is fixed per container), so a held key needs no check again.
    return this.servedHeld(sdkKey);
  }

  private servedHeld(sdkKey: string): StoredDatafile | undefined {
    const held = this.held.get(sdkKey);
    if (!held) return undefined;
    this.maybeRevalidate(sdkKey, held);
    return held.datafile;
  }

  /**
   * Fetches the datafile from the CDN now, persists it when newer than the stored one, and holds
   * it. Used by the Optimizely webhook. Null when the CDN has none for this key.
   */
  async refresh(sdkKey: string): Promise<StoredDatafile | null> {
    this.checkServed(sdkKey);
    const outcome = await this.fetchFromCdn(sdkKey);
    if (outcome.kind !== 'fetched') return null;
    await this.options.store.put(outcome.datafile);
    this.hold(sdkKey, { datafile: outcome.datafile, checkedAt: this.now(), pinned: false });
    return outcome.datafile;
  }

  /** How many SDK keys the container holds a datafile for, and knows to have none (both bounded). */
  sizes(): { held: number; missing: number } {
    return { held: this.held.size, missing: this.missing.size };
  }

  /** Resolves when every background revalidation has settled (tests, and the bench). */
  async settled(): Promise<void> {
    await Promise.all([...this.held.values()].map((h) => h.revalidating));
  }

  private unavailable(sdkKey: string, detail = ''): UnknownProjectError {
    return new UnknownProjectError(UNKNOWN_SDK_KEY, {
      detail: `No datafile is available for SDK key ${sdkKey}${detail}: check X-Optimizely-SDK-Key`,
    });
  }

  private async load(sdkKey: string): Promise<Held> {
    const local = this.options.localFile;
    if (local && local.sdkKey === sdkKey) {
      const text = await readFile(local.path, 'utf8');
      const datafile = { sdkKey, datafile: text, revision: datafileRevision(text), fetchedAt: this.now() };
      return this.hold(sdkKey, { datafile, checkedAt: this.now(), pinned: true });
    }
    let stored: StoredDatafile | null = null;
    try {
      stored = await this.options.store.get(sdkKey);
    } catch (error) {
      // The CDN may still answer; a DynamoDB hiccup alone should not fail the request.
      this.obs.logger.warn('stored datafile unreadable; trying the CDN', { sdkKey, error });
    }
    if (stored) {
      // Revalidation starts on the next request once the stored copy is older than the interval.
      return this.hold(sdkKey, { datafile: stored, checkedAt: stored.fetchedAt, pinned: false });
    }
    let outcome: FetchOutcome;
    try {
      outcome = await this.fetchFromCdn(sdkKey);
    } catch (error) {
      // Nothing to serve: the answer says why (a 503 naming the cause; retrying may help).
      const cdn = error instanceof CrosswalkError && error.detail ? error.detail : 'the datafile CDN failed';
      throw new DependencyUnavailableError(`No datafile for SDK key ${sdkKey}`, {
        cause: error,
        detail: `no datafile is stored for SDK key ${sdkKey}, and ${cdn}`,
      });
    }
    if (outcome.kind !== 'fetched') {
      this.missing.set(sdkKey, true);
      throw this.unavailable(sdkKey, ` (CDN answered ${outcome.kind === 'missing' ? outcome.status : 304})`);
    }
    await this.persist(outcome.datafile);
    return this.hold(sdkKey, { datafile: outcome.datafile, checkedAt: this.now(), pinned: false });
  }

  private hold(sdkKey: string, held: Held): Held {
    this.held.set(sdkKey, held);
    this.missing.delete(sdkKey);
    return held;
  }

  private maybeRevalidate(sdkKey: string, held: Held): void {
    if (held.pinned || held.revalidating) return;
    if (this.now() - held.checkedAt < this.options.revalidateMs) return;
    held.revalidating = this.revalidate(sdkKey, held).finally(() => {
      held.revalidating = undefined;
    });
  }

  private async revalidate(sdkKey: string, held: Held): Promise<void> {
    try {
      const outcome = await this.fetchFromCdn(sdkKey, held.datafile.etag);
      if (outcome.kind === 'fetched' && outcome.datafile.revision > held.datafile.revision) {
        held.datafile = outcome.datafile;
        this.obs.metrics.metric('DatafileUpdated', 1);
        await this.persist(outcome.datafile);
      } else if (outcome.kind === 'missing') {
        this.obs.logger.warn('datafile revalidation: CDN has no datafile; serving the held one', {
          sdkKey,
          status: outcome.status,
        });
      }
    } catch (error) {
      this.obs.logger.warn('datafile revalidation failed; serving the held one', { sdkKey, error });
    } finally {
      held.checkedAt = this.now();
    }
  }

  private async persist(datafile: StoredDatafile): Promise<void> {
    try {
      await this.options.store.put(datafile);
    } catch (error) {
      this.obs.logger.warn('could not persist the datafile', { sdkKey: datafile.sdkKey, error });
    }
  }

  private async fetchFromCdn(sdkKey: string, etag?: string): Promise<FetchOutcome> {
    const url = this.options.urlTemplate.replace('%s', encodeURIComponent(sdkKey));
    let response: OutboundResponse;
    try {
      response = await this.fetchFn(url, {
        headers: etag ? { 'if-none-match': etag } : {},
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
    } catch (error) {
      throw new DependencyUnavailableError(`Could not fetch the datafile for SDK key ${sdkKey}`, {
        cause: error,
        detail:
          faultKind(error) === 'timeout'
            ? 'the datafile CDN did not answer in time'
            : 'the datafile CDN could not be reached',
      });
    }
    if (response.status === 304) return { kind: 'not-modified' };
    if (response.status >= 500 || response.status === 429) {
      throw new DependencyUnavailableError(
        `The datafile CDN answered ${response.status} for SDK key ${sdkKey}`,
        { detail: `the datafile CDN answered ${response.status}` },
      );
    }
    if (!response.ok) return { kind: 'missing', status: response.status };
    const text = await response.text();
    let revision: number;
    try {
      revision = datafileRevision(text);
    } catch (error) {
      this.obs.logger.warn('the CDN served something that is not a datafile', { sdkKey, error });
      return { kind: 'missing', status: response.status };
    }
    const datafile: StoredDatafile = { sdkKey, datafile: text, revision, fetchedAt: this.now() };
    const responseEtag = response.headers.get('etag');
    if (responseEtag) datafile.etag = responseEtag;
    return { kind: 'fetched', datafile };
  }
}
