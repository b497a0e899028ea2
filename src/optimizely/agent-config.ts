/**
 * GET /v1/config and GET /v1/datafile in Optimizely Agent's shape. The JavaScript SDK's
 * OptimizelyConfig has Agent's field names, with differences this module removes: it carries the
 * whole datafile (a private `datafile` field a JSON encoder would include), it re-serialises each
 * audience's conditions, where Agent (Go) answers the datafile's condition string verbatim, and its
 * maps keep datafile order, where Go writes map keys sorted. Agent's list leaves out the
 * `$opt_dummy_audience` the datafile carries for old SDKs.
 */
import { goJsonText, goMap, goValue } from '../platform/core/go-json';
import type {
  OptimizelyConfig,
  OptimizelyExperiment,
  OptimizelyFeature,
  OptimizelyVariable,
  OptimizelyVariation,
} from './sdk';

export interface AgentConfig {
  environmentKey: string;
  sdkKey: string;
  revision: string;
  experimentsMap: OptimizelyConfig['experimentsMap'];
  featuresMap: OptimizelyConfig['featuresMap'];
  attributes: { id: string; key: string }[];
  audiences: { id: string; name: string; conditions: string }[];
  events: { id: string; key: string; experimentIds: string[] }[];
}

interface DatafileAudience {
  id: string;
  name: string;
  conditions: unknown;
}

const DUMMY_AUDIENCE = '$opt_dummy_audience';

export function agentConfig(config: OptimizelyConfig, datafile: string): AgentConfig {
  const parsed = JSON.parse(datafile) as {
    audiences?: DatafileAudience[];
    typedAudiences?: DatafileAudience[];
  };
  const audiences: AgentConfig['audiences'] = [];
  const seen = new Set<string>();
  // Typed audiences take precedence over legacy ones with the same id, as in both SDKs.
  for (const list of [parsed.typedAudiences ?? [], parsed.audiences ?? []]) {
    for (const audience of list) {
      if (audience.id === DUMMY_AUDIENCE || seen.has(audience.id)) continue;
      seen.add(audience.id);
      audiences.push({
        id: audience.id,
        name: audience.name,
        conditions:
          typeof audience.conditions === 'string' ? audience.conditions : JSON.stringify(audience.conditions),
      });
    }
  }
  return {
    environmentKey: config.environmentKey,
    sdkKey: config.sdkKey,
    revision: config.revision,
    experimentsMap: mapOf(config.experimentsMap, experiment),
    featuresMap: mapOf(config.featuresMap, feature),
    attributes: config.attributes.map(({ id, key }) => ({ id, key })),
    audiences,
    events: config.events.map(({ id, key, experimentIds }) => ({ id, key, experimentIds })),
  };
}

/** GET /v1/datafile's body: Agent re-reads the datafile into a Go map and writes it back, keys sorted. */
export function agentDatafile(datafile: string): string {
  return goJsonText(goValue(JSON.parse(datafile)));
}

// Go's struct field order for each entity of the config (go-sdk pkg/config/optimizely_config.go).

function mapOf<T, R>(map: Readonly<Record<string, T>>, shape: (value: T) => R): Record<string, R> {
  const out = Object.create(null) as Record<string, R>;
  for (const [key, value] of Object.entries(goMap(map))) out[key] = shape(value);
  return out;
}

const variable = ({ id, key, type, value }: OptimizelyVariable): OptimizelyVariable => ({
  id,
  key,
  type,
  value,
});

const variation = (v: OptimizelyVariation): OptimizelyVariation => ({
  id: v.id,
  key: v.key,
  featureEnabled: v.featureEnabled ?? false,
  variablesMap: mapOf(v.variablesMap, variable),
});

const experiment = (e: OptimizelyExperiment): OptimizelyExperiment => ({
  id: e.id,
  key: e.key,
  audiences: e.audiences,
  variationsMap: mapOf(e.variationsMap, variation),
});

const feature = (f: OptimizelyFeature): OptimizelyFeature => ({
  id: f.id,
  key: f.key,
  experimentRules: f.experimentRules.map(experiment),
  deliveryRules: f.deliveryRules.map(experiment),
  variablesMap: mapOf(f.variablesMap, variable),
  experimentsMap: mapOf(f.experimentsMap, experiment),
});
