/**
 * Forced variations (Optimizely Agent's POST /v1/override), kept in DynamoDB so every container sees
 * the same, keyed by the person's stable experiment id. A decision puts them in place through
 * `client.setForcedVariation` only for its duration (the SDK keeps forced variations in the client,
 * which every request of the container shares, and an awaited CMAB decision reads them after other
 * requests ran); agent-state.ts loads them with the rest of a person's state.
 */
import type { Client } from '../optimizely/sdk';
import { LruCache } from '../platform/core/lru-cache';
import { finallyMaybe, type MaybePromise } from '../platform/core/maybe-promise';
import type { OverrideStore } from './stores';

export interface OverrideChange {
  /** The variation key the override had before, or null when there was none. */
  previous: string | null;
}

/**
 * The forced variations of every project, read one project at a time (one Query) and held for
 * `ttlMs`: an override set in one container reaches the others within that time, and a decide
 * pays no request for overrides in steady state. The container that writes sees its change at once.
 */
export class OverrideBook {
  private readonly cache: LruCache<string, Promise<Map<string, Map<string, string>>>>;
  /** The loaded lists themselves, for a synchronous answer once a project's list is in. */
  private readonly held = new WeakMap<Promise<unknown>, Map<string, Map<string, string>>>();

  constructor(
    private readonly store: OverrideStore,
    options: { ttlMs: number; now?: () => number },
  ) {
    this.cache = new LruCache({
      maxEntries: 20,
      ttlMs: options.ttlMs,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /** Starts loading a project's overrides when they are not held (a decide does so on arrival). */
  prefetch(sdkKey: string): void {
    this.loading(sdkKey).catch(() => undefined);
  }

  /** Experiment key → variation key forced for this person, in this project (at once when held). */
  forUser(sdkKey: string, userId: string): MaybePromise<ReadonlyMap<string, string>> {
    const loading = this.loading(sdkKey);
    const held = this.held.get(loading);
    if (held) return held.get(userId) ?? NONE;
    return loading.then((all) => all.get(userId) ?? NONE);
  }

  private loading(sdkKey: string): Promise<Map<string, Map<string, string>>> {
    let loading = this.cache.get(sdkKey);
    if (!loading) {
      const started = this.store.list(sdkKey);
      loading = started;
      this.cache.set(sdkKey, started);
      started.then(
        (all) => this.held.set(started, all),
        // A failed read is not cached: the next request asks again.
        () => this.cache.delete(sdkKey),
      );
    }
    return loading;
  }

  async set(
    sdkKey: string,
    userId: string,
    experimentKey: string,
    variationKey: string,
  ): Promise<OverrideChange> {
    const previous = await this.store.get(sdkKey, userId, experimentKey);
    await this.store.put(sdkKey, userId, experimentKey, variationKey);
    this.cache.delete(sdkKey);
    return { previous };
  }

  async remove(sdkKey: string, userId: string, experimentKey: string): Promise<OverrideChange> {
    const previous = await this.store.get(sdkKey, userId, experimentKey);
    if (previous !== null) await this.store.remove(sdkKey, userId, experimentKey);
    this.cache.delete(sdkKey);
    return { previous };
  }
}

/** No overrides. */
export const NONE: ReadonlyMap<string, string> = new Map();

/** Per client and person: decisions running with their overrides set, and every key set for them. */
const forced = new WeakMap<Client, Map<string, { runs: number; keys: Set<string> }>>();

/**
 * Runs a decision with the person's overrides in place, and clears them once it is done. Two
 * decisions of the same person that overlap (an awaited CMAB decision and another request) share
 * them: the last one to finish clears them.
 */
export function withOverrides<T>(
  client: Client,
  userId: string,
  overrides: ReadonlyMap<string, string>,
  decide: () => MaybePromise<T>,
): MaybePromise<T> {
  if (overrides.size === 0) return decide();
  let people = forced.get(client);
  if (!people) {
    people = new Map();
    forced.set(client, people);
  }
  let running = people.get(userId);
  if (!running) {
    running = { runs: 0, keys: new Set() };
    people.set(userId, running);
  }
  running.runs++;
  for (const [experimentKey, variationKey] of overrides) {
    // An override naming an experiment or variation the datafile lacks is ignored, as in Agent.
    client.setForcedVariation(experimentKey, userId, variationKey);
    running.keys.add(experimentKey);
  }
  const done = running;
  return finallyMaybe(decide, () => {
    if (--done.runs > 0) return;
    people.delete(userId);
    for (const experimentKey of done.keys) client.setForcedVariation(experimentKey, userId, null);
  });
}
