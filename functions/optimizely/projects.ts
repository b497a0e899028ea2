/**
 * One Optimizely client per SDK key per container, built from the datafile the source holds, with a
 * static config manager (the source does the fetching and revalidation, so the SDK never polls)
 * and a forwarding event processor on Crosswalk's dispatcher. A new datafile revision builds a new
 * client; the previous one is dropped (it has no timers or queued events to lose).
 */
import {
  type Client,
  createForwardingEventProcessor,
  createInstance,
  createStaticProjectConfigManager,
  type EventDispatcher,
  type OptimizelyConfig,
} from '@optimizely/optimizely-sdk';
import { LruCache } from '../core/lru-cache';
import type { DatafileSource } from './datafile-source';

export interface Project {
  sdkKey: string;
  revision: number;
  client: Client;
  /** The datafile text as served by GET /v1/datafile. */
  datafile: string;
  config: OptimizelyConfig;
  /** Every flag key, in datafile order (decide with no keys decides them all). */
  flagKeys: string[];
  eventKeys: ReadonlySet<string>;
  /** Attribute keys the datafile declares: the only ones that may reach Optimizely. */
  declaredAttributes: ReadonlySet<string>;
}

export interface ProjectRegistry {
  get(sdkKey: string): Promise<Project>;
}

/**
 * The Optimizely client Crosswalk runs for one datafile: static config, forwarding event processor
 * on the given dispatcher. Also what a bare-SDK baseline (the bench's floor) should build.
 */
export function createOptimizelyClient(datafile: string, dispatcher: EventDispatcher): Client {
  return createInstance({
    projectConfigManager: createStaticProjectConfigManager({ datafile }),
    eventProcessor: createForwardingEventProcessor(dispatcher),
  });
}

export function createProjectRegistry(options: {
  source: DatafileSource;
  /** Crosswalk's capturing dispatcher (event-dispatcher.ts) in the functions. */
  dispatcher: EventDispatcher;
  /** Bound on projects (Optimizely clients) held per container, least recently used dropped first. */
  maxProjects?: number;
}): ProjectRegistry {
  const projects = new LruCache<string, Project>({
    maxEntries: options.maxProjects ?? 20,
    ttlMs: Number.POSITIVE_INFINITY,
  });

  function build(sdkKey: string, datafile: string, revision: number): Project {
    const client = createOptimizelyClient(datafile, options.dispatcher);
    const config = client.getOptimizelyConfig();
    if (!config) throw new Error(`The datafile for SDK key ${sdkKey} was not accepted by the Optimizely SDK`);
    const parsed = JSON.parse(datafile) as { featureFlags?: { key: string }[] };
    return {
      sdkKey,
      revision,
      client,
      datafile,
      config,
      flagKeys: (parsed.featureFlags ?? []).map((f) => f.key),
      eventKeys: new Set(config.events.map((e) => e.key)),
      declaredAttributes: new Set(config.attributes.map((a) => a.key)),
    };
  }

  return {
    async get(sdkKey) {
      const stored = await options.source.get(sdkKey);
      const current = projects.get(sdkKey);
      if (current && current.revision === stored.revision && current.datafile === stored.datafile)
        return current;
      const project = build(sdkKey, stored.datafile, stored.revision);
      projects.set(sdkKey, project);
      return project;
    },
  };
}
