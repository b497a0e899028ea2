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
  type UserProfileService,
} from '@optimizely/optimizely-sdk';
import { LruCache } from '../core/lru-cache';
import { type Observability, silent } from '../observability/logger';
import { type AgentConfig, agentConfig } from './agent-config';
import type { DatafileSource } from './datafile-source';

export interface Project {
  sdkKey: string;
  revision: number;
  client: Client;
  /** The datafile text as served by GET /v1/datafile. */
  datafile: string;
  config: OptimizelyConfig;
  /** GET /v1/config's answer (Optimizely Agent's OptimizelyConfig). */
  agentConfig: AgentConfig;
  /** Every flag key, in datafile order (decide with no keys decides them all). */
  flagKeys: string[];
  eventKeys: ReadonlySet<string>;
  /** Attribute keys the datafile declares. */
  declaredAttributes: ReadonlySet<string>;
  /** The declared keys that may reach Optimizely: declared, and not personal (PERSONAL_ATTRIBUTES). */
  forwardedAttributes: ReadonlySet<string>;
  /** Flag key → keys of its "Everyone Else" delivery rules (Agent's `isEveryoneElseVariation`). */
  everyoneElseRules: ReadonlyMap<string, ReadonlySet<string>>;
  /** Flag key → keys of its experiment rules (A/B tests), in order. */
  experimentRules: ReadonlyMap<string, readonly string[]>;
  /** Experiment key → the flags it is a rule of (account bucketing of a legacy activate). */
  flagsOfExperiment: ReadonlyMap<string, readonly string[]>;
}

export interface ProjectRegistry {
  get(sdkKey: string): Promise<Project>;
}

/**
 * The Optimizely client Crosswalk runs for one datafile: static config, forwarding event processor
 * on the given dispatcher. Also what a bare-SDK baseline (the bench's floor) should build.
 */
export function createOptimizelyClient(
  datafile: string,
  dispatcher: EventDispatcher,
  userProfileService?: UserProfileService,
): Client {
  return createInstance({
    projectConfigManager: createStaticProjectConfigManager({ datafile }),
    eventProcessor: createForwardingEventProcessor(dispatcher),
    ...(userProfileService ? { userProfileService } : {}),
  });
}

export function createProjectRegistry(options: {
  source: DatafileSource;
  /** Crosswalk's capturing dispatcher (event-dispatcher.ts) in the functions. */
  dispatcher: EventDispatcher;
  /** Attribute names never forwarded, whatever a datafile declares (compared case-insensitively). */
  personalAttributes?: readonly string[];
  observability?: Observability;
  /** Bound on projects (Optimizely clients) held per container, least recently used dropped first. */
  maxProjects?: number;
  /** The user profile service every client gets (sticky bucketing; decisions/agent-state.ts). */
  userProfileService?: UserProfileService;
}): ProjectRegistry {
  const projects = new LruCache<string, Project>({
    maxEntries: options.maxProjects ?? 20,
    ttlMs: Number.POSITIVE_INFINITY,
  });

  const personal = new Set((options.personalAttributes ?? []).map((name) => name.toLowerCase()));
  const { logger } = options.observability ?? silent;

  function build(sdkKey: string, datafile: string, revision: number): Project {
    const client = createOptimizelyClient(datafile, options.dispatcher, options.userProfileService);
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
    const features = Object.values(config.featuresMap);
    const flagsOfExperiment = new Map<string, string[]>();
    for (const feature of features) {
      for (const rule of feature.experimentRules) {
        flagsOfExperiment.set(rule.key, [...(flagsOfExperiment.get(rule.key) ?? []), feature.key]);
      }
    }
    return {
      sdkKey,
      revision,
      client,
      datafile,
      config,
      agentConfig: agentConfig(config, datafile),
      flagKeys: (parsed.featureFlags ?? []).map((f) => f.key),
      eventKeys: new Set(config.events.map((e) => e.key)),
      declaredAttributes: declared,
      forwardedAttributes: new Set([...declared].filter((key) => !personal.has(key.toLowerCase()))),
      // Agent: a delivery rule whose key equals its id and starts with "default-".
      everyoneElseRules: new Map(
        features.map((feature) => [
          feature.key,
          new Set(
            feature.deliveryRules
              .filter((r) => r.key === r.id && r.key.startsWith('default-'))
              .map((r) => r.key),
          ),
        ]),
      ),
      experimentRules: new Map(features.map((f) => [f.key, f.experimentRules.map((r) => r.key)])),
      flagsOfExperiment,
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
