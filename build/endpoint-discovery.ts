/**
 * Bundled in place of `@aws-sdk/middleware-endpoint-discovery` (an esbuild alias set by the function
 * construct, lib/constructs/crosswalk-function.ts). The DynamoDB client resolves its endpoint
 * discovery settings at construction, but none of its commands installs the discovery middleware;
 * the original still builds an endpoint cache (the mnemonist LRU and its iterator library, about
 * 8 KB per bundle) that nothing reads. Anyone turning discovery on (AWS_ENABLE_ENDPOINT_DISCOVERY,
 * AWS_ENDPOINT_DISCOVERY_ENABLED, or the client option) gets an error at the first request instead
 * of a silently different client.
 */

type Settings = {
  endpointDiscoveryEnabled?: boolean | undefined;
  endpointDiscoveryEnabledProvider?: () => Promise<boolean | undefined>;
};

function notBundled(): never {
  throw new Error('DynamoDB endpoint discovery is not bundled (build/endpoint-discovery.ts)');
}

const ENVIRONMENT_NAMES = ['AWS_ENABLE_ENDPOINT_DISCOVERY', 'AWS_ENDPOINT_DISCOVERY_ENABLED'] as const;

/** As the SDK's: where the setting is read from; a value that turns discovery on is refused. */
export const NODE_ENDPOINT_DISCOVERY_CONFIG_OPTIONS = {
  environmentVariableSelector: (env: Record<string, string | undefined>): false | undefined => {
    for (const name of ENVIRONMENT_NAMES) {
      if (!(name in env)) continue;
      if (env[name] === 'false' || env[name] === '0') return false;
      notBundled();
    }
    return undefined;
  },
  configFileSelector: (profile: Record<string, string | undefined>): false | undefined => {
    const value = profile.endpoint_discovery_enabled;
    if (value === undefined) return undefined;
    if (value === 'false' || value === '0') return false;
    notBundled();
  },
  default: undefined,
};

/** As the SDK's, without the endpoint cache: the discovery setting, refused at use if it is on. */
export const resolveEndpointDiscoveryConfig = <T extends Settings>(
  input: T,
  options: { endpointDiscoveryCommandCtor: unknown },
): T & {
  endpointDiscoveryEnabled: () => Promise<boolean | undefined>;
  isClientEndpointDiscoveryEnabled: boolean;
} => {
  if (input.endpointDiscoveryEnabled === true) notBundled();
  const { endpointDiscoveryEnabled, endpointDiscoveryEnabledProvider } = input;
  return Object.assign(input, {
    endpointDiscoveryCommandCtor: options.endpointDiscoveryCommandCtor,
    endpointDiscoveryEnabled:
      endpointDiscoveryEnabled !== undefined
        ? () => Promise.resolve(endpointDiscoveryEnabled)
        : (endpointDiscoveryEnabledProvider ?? (() => Promise.resolve(undefined))),
    isClientEndpointDiscoveryEnabled: endpointDiscoveryEnabled !== undefined,
  });
};

/** Never installed by the DynamoDB commands; kept so a command that did would fail loudly. */
export const getEndpointDiscoveryPlugin = notBundled;
export const getEndpointDiscoveryRequiredPlugin = notBundled;
export const getEndpointDiscoveryOptionalPlugin = notBundled;
