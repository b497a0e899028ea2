/**
 * One Optimizely client per SDK key per container, built from the datafile the source holds, with a
 * static config manager (the source does the fetching and revalidation, so the SDK never polls)
 * and a forwarding event processor on Crosswalk's dispatcher. A new datafile revision builds a new
 * client; the previous one is dropped (it has no timers or queued events to lose). What a decision
 * needs to know of the datafile beyond the SDK (which flags need a CMAB prediction, which rules are
 * holdouts) is worked out here, once per revision.
 */
import { LruCache } from '../platform/core/lru-cache';
import { type Observability, silent } from '../platform/observability/logger';
import { type AgentConfig, agentConfig, agentDatafile } from './agent-config';
import type { DatafileSource } from './datafile-source';
import type { StoredDatafile } from './datafile-store';
import {
  CLIENT_ENGINE,
  type Client,
  createForwardingEventProcessor,
  createInstance,
  createStaticProjectConfigManager,
  type EventDispatcher,
  type OptimizelyConfig,
  type RequestHandler,
  type UserProfileService,
} from './sdk';

export interface Project {
  sdkKey: string;
  revision: number;
  client: Client;
  /** The datafile text as held (what the revision check compares). */
  datafile: string;
  /** GET /v1/datafile's body: the datafile as Agent re-encodes it (keys sorted), made on first use. */
  agentDatafile(): string;
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
  /**
   * Flags with a CMAB (contextual bandit) rule: only these are decided asynchronously, with a call
   * to the prediction service; every other flag is decided synchronously and never calls it.
   */
  cmabFlags: ReadonlySet<string>;
  /** Keys of the CMAB experiments (rules). */
  cmabExperiments: ReadonlySet<string>;
  /** Keys of the holdouts the datafile runs (a holdout's key is the decision's `ruleKey`). */
  holdoutKeys: ReadonlySet<string>;
}

/** How the SDK asks the CMAB prediction service (OPTIMIZELY_CMAB_PREDICTION_ENDPOINT, OPTIMIZELY_CMAB_TIMEOUT_MS). */
export interface CmabSettings {
  /** URL with `%s` where the rule id goes. */
  predictionEndpointTemplate: string;
  /** Carries the prediction requests, each bounded by the timeout (sdk.ts `boundedRequestHandler`). */
  requestHandler: RequestHandler;
}

/** For clients built without CMAB settings (tests, the bench's floor): a prediction is never asked for. */
const NO_PREDICTIONS: RequestHandler = {
  makeRequest: () => ({
    abort: () => undefined,
    responsePromise: Promise.reject(new Error('no CMAB prediction endpoint is configured')),
  }),
};

export interface ProjectRegistry {
  get(sdkKey: string): Promise<Project>;
  /**
   * The project `get` would answer, now, when the container holds its datafile and client (a warm
   * request awaits nothing for it); undefined otherwise, and then `get` loads it or says why not.
   */
  getHeld?(sdkKey: string): Project | undefined;
}

/**
 * The Optimizely client Crosswalk runs for one datafile: static config, forwarding event processor
 * on the given dispatcher. Also what a bare-SDK baseline (the bench's floor) should build.
 */
export function createOptimizelyClient(
  datafile: string,
  dispatcher: EventDispatcher,
  options: { userProfileService?: UserProfileService | undefined; cmab?: CmabSettings | undefined } = {},
): Client {
  return createInstance({
    projectConfigManager: createStaticProjectConfigManager({ datafile }),
    eventProcessor: createForwardingEventProcessor(dispatcher),
    clientEngine: CLIENT_ENGINE,
    requestHandler: options.cmab?.requestHandler ?? NO_PREDICTIONS,
    ...(options.cmab
      ? { cmab: { predictionEndpointTemplate: options.cmab.predictionEndpointTemplate } }
      : {}),
    ...(options.userProfileService ? { userProfileService: options.userProfileService } : {}),
  });
}

interface DatafileExperiment {
  id: string;
  key: string;
  cmab?: unknown;
}

interface DatafileRules {
  featureFlags?: { key: string; experimentIds?: string[] }[];
  experiments?: DatafileExperiment[];
  groups?: { experiments?: DatafileExperiment[] }[];
  holdouts?: { key: string; status?: string }[];
  localHoldouts?: { key: string; status?: string }[];
}

/** The CMAB experiments (by key), and the flags one of whose experiment rules is one. */
function cmabRules(parsed: DatafileRules): { experiments: Set<string>; flags: Set<string> } {
  const ids = new Set<string>();
  const experiments = new Set<string>();
  for (const experiment of [
    ...(parsed.experiments ?? []),
    ...(parsed.groups ?? []).flatMap((g) => g.experiments ?? []),
  ]) {
    if (!experiment.cmab) continue;
    ids.add(experiment.id);
    experiments.add(experiment.key);
  }
  const flags = new Set<string>();
  for (const flag of ids.size === 0 ? [] : (parsed.featureFlags ?? [])) {
    if ((flag.experimentIds ?? []).some((id) => ids.has(id))) flags.add(flag.key);
  }
  return { experiments, flags };
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
  /** The user profile service every client gets (sticky bucketing; agent/agent-state.ts). */
  userProfileService?: UserProfileService;
  /** How CMAB predictions are asked for; unset, CMAB rules end in the SDK's error decision. */
  cmab?: CmabSettings;
}): ProjectRegistry {
  const projects = new LruCache<string, Project>({
    maxEntries: options.maxProjects ?? 20,
    ttlMs: Number.POSITIVE_INFINITY,
  });

  const personal = new Set((options.personalAttributes ?? []).map((name) => name.toLowerCase()));
  const { logger } = options.observability ?? silent;

  function build(sdkKey: string, datafile: string, revision: number): Project {
    const client = createOptimizelyClient(datafile, options.dispatcher, {
      userProfileService: options.userProfileService,
      cmab: options.cmab,
    });
    const config = client.getOptimizelyConfig();
    if (!config) throw new Error(`The datafile for SDK key ${sdkKey} was not accepted by the Optimizely SDK`);
    const parsed = JSON.parse(datafile) as DatafileRules;
    const cmab = cmabRules(parsed);
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
      agentDatafile: once(() => agentDatafile(datafile)),
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
      cmabFlags: cmab.flags,
      cmabExperiments: cmab.experiments,
      holdoutKeys: new Set(
        [...(parsed.holdouts ?? []), ...(parsed.localHoldouts ?? [])]
          .filter((h) => h.status === 'Running')
          .map((h) => h.key),
      ),
    };
  }

  /** The project built from `stored` when it is the one held, else none. */
  const current = (sdkKey: string, stored: StoredDatafile): Project | undefined => {
    const held = projects.get(sdkKey);
    return held && held.revision === stored.revision && held.datafile === stored.datafile ? held : undefined;
  };

  return {
    async get(sdkKey) {
      const stored = await options.source.get(sdkKey);
      const held = current(sdkKey, stored);
      if (held) return held;
      const project = build(sdkKey, stored.datafile, stored.revision);
      projects.set(sdkKey, project);
      return project;
    },
    getHeld(sdkKey) {
      const stored = options.source.getHeld(sdkKey);
      return stored && current(sdkKey, stored);
    },
  };
}

function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}
