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
import { type Observability, silent } from '../observability/logger';
import type { DatafileSource } from './datafile-source';
import type { FlushingEventDispatcher } from './event-dispatcher';

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
  /** Attribute keys the datafile declares. */
  declaredAttributes: ReadonlySet<string>;
  /** The declared keys that may reach Optimizely: declared, and not personal (PERSONAL_ATTRIBUTES). */
  forwardedAttributes: ReadonlySet<string>;
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
  dispatcher: FlushingEventDispatcher;
  /** Attribute names never forwarded, whatever a datafile declares (compared case-insensitively). */
  personalAttributes?: readonly string[];
  observability?: Observability;
  /** Bound on projects (Optimizely clients) held per container, least recently used dropped first. */
  maxProjects?: number;
}): ProjectRegistry {
  const projects = new LruCache<string, Project>({
    maxEntries: options.maxProjects ?? 20,
    ttlMs: Number.POSITIVE_INFINITY,
  });

  const personal = new Set((options.personalAttributes ?? []).map((name) => name.toLowerCase()));
  const { logger } = options.observability ?? silent;

  function build(sdkKey: string, datafile: string, revision: number): Project {
    const client = createOptimizelyClient(datafile, options.dispatcher);
    const config = client.getOptimizelyConfig();
    if (!config) throw new Error(`The datafile for SDK key ${sdkKey} was not accepted by the Optimizely SDK`);
    const parsed = JSON.parse(datafile) as { featureFlags?: { key: string }[] };
    const declared = new Set(config.attributes.map((a) => a.key));
    const withheld = [...declared].filter((key) => personal.has(key.toLowerCase()));
    if (withheld.length > 0) {
      logger.warn('the datafile declares attributes that look personal; Crosswalk never sends them', {
        sdkKey,
        revision,
        attributes: withheld,
      });
    }
    return {
      sdkKey,
      revision,
      client,
      datafile,
      config,
      flagKeys: (parsed.featureFlags ?? []).map((f) => f.key),
      eventKeys: new Set(config.events.map((e) => e.key)),
      declaredAttributes: declared,
      forwardedAttributes: new Set([...declared].filter((key) => !personal.has(key.toLowerCase()))),
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
