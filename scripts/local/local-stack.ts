/**
 * What `npm start` and `npm run invoke` share: the local defaults of the environment, their own
 * settings (PORT, DYNAMODB_LOCAL_PORT), the checks that must pass before anything starts, and an
 * embedded DynamoDB Local with the table (unless DYNAMODB_ENDPOINT names a running one).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { datafileRevision } from '../../src/optimizely/datafile-source';
import { type Config, loadConfig } from '../../src/platform/config/env';
import { ConfigurationError } from '../../src/platform/core/errors';
import { createDynamoDbClient } from '../../src/platform/dynamodb/client';
import { type DynamoDbLocal, ensureTable, startDynamoDbLocal } from './dynamodb-local';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const LOCAL_DATA_DIR = resolve(repoRoot, '.local', 'dynamodb');
export const SAMPLE_DATAFILE = resolve(repoRoot, 'events', 'sample-datafile.json');
/** Where `npm start` serves Optimizely's two edges locally (scripts/local/local-optimizely.ts). */
export const LOCAL_OPTIMIZELY_PREFIX = '/local/optimizely';
/** Where `npm start` serves its stand-in of Segment's Profile API (scripts/local/local-profile-api.ts). */
export const LOCAL_PROFILE_API_PREFIX = '/local/segment';
export const LOCAL_SPACE_ID = 'local-space';

/** The demo's keys and secrets: local placeholders, printed by `npm start`, never used when deployed. */
export const LOCAL_API_KEY = 'dev-key';
export const LOCAL_ADMIN_API_KEY = 'dev-admin-key';
export const LOCAL_SEGMENT_SECRET = 'dev-segment-secret';
export const LOCAL_SEGMENT_TOKEN = 'dev-webhook-token';
export const LOCAL_OPTIMIZELY_WEBHOOK_SECRET = 'dev-optimizely-secret';
export const LOCAL_EXPERIMENT_ID_SECRET = 'dev-experiment-id-secret';
export const LOCAL_PROFILE_API_TOKEN = 'dev-profile-api-token';

/** Settings of the local scripts themselves (not of the functions). */
export interface LocalSettings {
  port: number;
  dynamoDbLocalPort: number;
  /** Delay of every answer of the local Profile API stand-in (LOCAL_PROFILE_API_LATENCY_MS). */
  profileApiLatencyMs: number;
}

function portSetting(source: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = source[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port < 1 || port > 65_535) {
    throw new ConfigurationError(
      `${name} is ${JSON.stringify(raw)}: not a TCP port; set it to a number from 1 to 65535, or unset it for ${fallback}`,
    );
  }
  return port;
}

export function localSettings(source: NodeJS.ProcessEnv = process.env): LocalSettings {
  const latency = source.LOCAL_PROFILE_API_LATENCY_MS;
  if (latency !== undefined && latency !== '' && !/^\d{1,5}$/.test(latency.trim())) {
    throw new ConfigurationError(
      `LOCAL_PROFILE_API_LATENCY_MS is ${JSON.stringify(latency)}: not a whole number of ms; set it from 0 to 99999, or unset it for 0`,
    );
  }
  return {
    port: portSetting(source, 'PORT', 3000),
    dynamoDbLocalPort: portSetting(source, 'DYNAMODB_LOCAL_PORT', 8000),
    profileApiLatencyMs: latency ? Number(latency) : 0,
  };
}

/**
 * The environment a local run gives the functions: what the shell set, plus defaults that make a
 * fresh clone work with no configuration. An explicit variable always wins. `optimizelyBase` is
 * where the local Optimizely edges are served (events stay on this machine unless
 * OPTIMIZELY_EVENT_ENDPOINT is set).
 */
export function localEnvironment(
  source: NodeJS.ProcessEnv,
  optimizelyBase: string,
  /** Where the local Profile API stand-in is served: given, the read-through is on by default. */
  profileApiBase?: string,
): Record<string, string> {
  const defaults: Record<string, string> = {
    TABLE_NAME: 'crosswalk-local',
    AWS_REGION: 'local',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    API_KEYS: LOCAL_API_KEY,
    ADMIN_API_KEYS: LOCAL_ADMIN_API_KEY,
    SEGMENT_SHARED_SECRET: LOCAL_SEGMENT_SECRET,
    SEGMENT_WEBHOOK_TOKEN: LOCAL_SEGMENT_TOKEN,
    OPTIMIZELY_WEBHOOK_SECRET: LOCAL_OPTIMIZELY_WEBHOOK_SECRET,
    EXPERIMENT_ID_SECRET: LOCAL_EXPERIMENT_ID_SECRET,
    OPTIMIZELY_SDK_KEY: 'local-sample',
    OPTIMIZELY_DATAFILE: SAMPLE_DATAFILE,
    OPTIMIZELY_DATAFILE_URL_TEMPLATE: `${optimizelyBase}/datafiles/%s.json`,
    OPTIMIZELY_EVENT_ENDPOINT: `${optimizelyBase}/v1/events`,
    // CMAB predictions from the local stand-in (deterministic), never Optimizely's service.
    OPTIMIZELY_CMAB_PREDICTION_ENDPOINT: `${optimizelyBase}/predict/%s`,
    // EMF lines are for CloudWatch; a terminal is easier to read without them.
    CROSSWALK_METRICS: 'off',
    // As Optimizely Agent's own config.yaml: forced variations for QA on a laptop.
    ENABLE_OVERRIDES: 'true',
    // Sticky bucketing in DynamoDB Local, so /v1/lookup and /v1/save work out of the box.
    USER_PROFILE_SERVICE: 'dynamodb',
    // The sample datafile's account-bucketed flag.
    ACCOUNT_BUCKETED_FLAGS: 'team_dashboard',
    // Segment's Profile API on a miss, from the local stand-in (docs/profile-api.md); a shell that
    // names SEGMENT_SPACE_ID, even empty (`SEGMENT_SPACE_ID= npm start`: off), chooses for itself.
    ...(profileApiBase && !('SEGMENT_SPACE_ID' in source)
      ? {
          SEGMENT_PROFILE_API_URL: profileApiBase,
          SEGMENT_SPACE_ID: LOCAL_SPACE_ID,
          SEGMENT_PROFILE_API_TOKEN: LOCAL_PROFILE_API_TOKEN,
        }
      : {}),
  };
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) if (value !== undefined) out[name] = value;
  for (const [name, value] of Object.entries(defaults)) if (!out[name]) out[name] = value;
  return out;
}

/**
 * Everything that can be checked before starting anything: the functions' configuration, and the
 * local datafile. Throws a ConfigurationError with one line per problem.
 */
export function checkLocalConfiguration(environment: Record<string, string>): {
  config: Config;
  datafile: string | undefined;
} {
  const config = loadConfig(environment);
  let datafile: string | undefined;
  if (config.OPTIMIZELY_DATAFILE) {
    const path = config.OPTIMIZELY_DATAFILE;
    const shown = `OPTIMIZELY_DATAFILE is ${JSON.stringify(path)}`;
    try {
      datafile = readFileSync(path, 'utf8');
    } catch (error) {
      const reason =
        (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      throw new ConfigurationError(
        `${shown}: ${reason}; set it to the path of a datafile JSON file, or unset it`,
      );
    }
    try {
      datafileRevision(datafile);
    } catch (error) {
      throw new ConfigurationError(
        `${shown}: ${(error as Error).message}; use a datafile exported from Optimizely`,
      );
    }
  }
  return { config, datafile };
}

export interface LocalDynamoDb {
  endpoint: string;
  /** True when we started DynamoDB Local ourselves (and must stop it). */
  embedded: boolean;
  tableCreated: boolean;
  stop(): Promise<void>;
}

/** DynamoDB Local (or the one DYNAMODB_ENDPOINT names) with the table; stops it again on any failure. */
export async function startLocalDynamoDb(options: {
  endpoint: string | undefined;
  tableName: string;
  inMemory: boolean;
  port?: number;
}): Promise<LocalDynamoDb> {
  let local: DynamoDbLocal | undefined;
  if (!options.endpoint) {
    local = await startDynamoDbLocal({
      ...(options.inMemory ? {} : { dbPath: LOCAL_DATA_DIR }),
      ...(options.port === undefined ? {} : { port: options.port }),
    });
  }
  // Empty counts as unset, as for every variable.
  const endpoint = options.endpoint || local!.endpoint;
  const client = createDynamoDbClient({ endpoint });
  try {
    const outcome = await ensureTable(client, options.tableName);
    return {
      endpoint,
      embedded: local !== undefined,
      tableCreated: outcome === 'created',
      stop: async () => {
        await local?.stop();
      },
    };
  } catch (error) {
    await local?.stop();
    throw error;
  } finally {
    client.destroy();
  }
}
