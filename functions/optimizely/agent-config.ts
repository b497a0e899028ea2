/**
 * GET /v1/config in Optimizely Agent's shape. The JavaScript SDK's OptimizelyConfig has Agent's
 * field names, with two differences this module removes: it carries the whole datafile (a private
 * `datafile` field a JSON encoder would include), and it re-serialises each audience's conditions,
 * where Agent (Go) answers the datafile's condition string verbatim. Agent's list leaves out the
 * `$opt_dummy_audience` the datafile carries for old SDKs.
 */
import type { OptimizelyConfig } from '@optimizely/optimizely-sdk';

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
    experimentsMap: config.experimentsMap,
    featuresMap: config.featuresMap,
    attributes: config.attributes.map(({ id, key }) => ({ id, key })),
    audiences,
    events: config.events.map(({ id, key, experimentIds }) => ({ id, key, experimentIds })),
  };
}
