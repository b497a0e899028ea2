/**
 * What `npm start` and `npm run invoke` share: local defaults for the environment, an embedded
 * DynamoDB Local (unless DYNAMODB_ENDPOINT names one), and the table.
 */
import { resolve } from 'node:path';
import { createDynamoDbClient } from '../../functions/storage/dynamodb-client';
import { type DynamoDbLocal, ensureTable, startDynamoDbLocal } from './dynamodb-local';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const LOCAL_DATA_DIR = resolve(repoRoot, '.local', 'dynamodb');

/** Defaults that make a fresh clone run with no configuration; an explicit variable always wins. */
export const localDefaults: Record<string, string> = {
  TABLE_NAME: 'crosswalk-local',
  AWS_REGION: 'local',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  OPTIMIZELY_DATAFILE: resolve(repoRoot, 'events', 'sample-datafile.json'),
  OPTIMIZELY_SDK_KEY: 'local-sample',
  // The sample datafile's account-bucketed flag.
  ACCOUNT_BUCKETED_FLAGS: 'team_dashboard',
};

export function applyLocalDefaults(): void {
  for (const [name, value] of Object.entries(localDefaults)) {
    if (process.env[name] === undefined || process.env[name] === '') process.env[name] = value;
  }
}

export interface LocalStack {
  endpoint: string;
  /** True when we started DynamoDB Local ourselves (and must stop it). */
  embedded: boolean;
  tableCreated: boolean;
  stop(): Promise<void>;
}

export async function startLocalStack(options: { inMemory: boolean }): Promise<LocalStack> {
  applyLocalDefaults();
  let local: DynamoDbLocal | undefined;
  if (!process.env.DYNAMODB_ENDPOINT) {
    local = await startDynamoDbLocal(options.inMemory ? {} : { dbPath: LOCAL_DATA_DIR });
    process.env.DYNAMODB_ENDPOINT = local.endpoint;
  }
  const endpoint = process.env.DYNAMODB_ENDPOINT as string;
  const client = createDynamoDbClient(endpoint);
  try {
    const outcome = await ensureTable(client, process.env.TABLE_NAME as string);
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
