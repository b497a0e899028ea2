/**
 * The one house construct for Crosswalk's Lambda functions: Node.js 24 on arm64, bundled by the
 * local esbuild into one minified ESM file (AWS SDK v3 included), a log group with retention,
 * X-Ray tracing, and an execution role that holds only what `grantTable`/`grantSecrets` add.
 */
import { join } from 'node:path';
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { KEY_PREFIX } from '../../src/platform/dynamodb/table-schema';
import {
  DEFAULT_TIMEOUT_SECONDS,
  type FunctionSpec,
  functionSpecs,
  type TableGrant,
} from '../../src/platform/routes';

/**
 * Modules the bundles take from build/ instead (esbuild aliases; paths from the project
 * root): the environment credential provider in place of the SDK's default chain (about 130 KB less
 * per function, see lambda-credentials.ts), a stub for the Optimizely SDK's ODP-only JSON-schema
 * validator (json-schema.ts), inert stand-ins for the SDK's event streams and DynamoDB endpoint
 * discovery (event-streams.ts, endpoint-discovery.ts), the runtime's invocation store read as the
 * runtime registers it (lambda-invoke-store.ts), the Optimizely SDK's MurmurHash3 and UUIDs as small
 * ES modules (murmurhash.ts, uuid.ts), and Node built-ins taken with `process.getBuiltinModule`
 * rather than ES module imports, whose facades load unused code (about 80 ms less per cold start,
 * see build/builtins/README.md). Each substitute is tested against what it replaces in
 * test/unit/infrastructure/bundle-substitutes.test.ts.
 */
const BUILTINS = [
  'http',
  'https',
  'process',
  'crypto',
  'fs',
  'fs/promises',
  'os',
  'async_hooks',
  'zlib',
] as const;
export const BUNDLE_SUBSTITUTES: Record<string, string> = {
  '@aws-sdk/credential-provider-node': './build/lambda-credentials.ts',
  // The Optimizely SDK's JSON-schema validator, used by ODP only (see json-schema.ts).
  'json-schema': './build/json-schema.ts',
  // The SDK's event-stream support, for operations DynamoDB does not have (see event-streams.ts).
  '@smithy/core/event-streams': './build/event-streams.ts',
  // DynamoDB endpoint discovery, which no command of ours installs (see endpoint-discovery.ts).
  '@aws-sdk/middleware-endpoint-discovery': './build/endpoint-discovery.ts',
  // The SDK's view of the runtime's per-invocation store (trace ids), without a store of its own (see lambda-invoke-store.ts).
  '@aws/lambda-invoke-store': './build/lambda-invoke-store.ts',
  // The Optimizely SDK's hash (MurmurHash3 only, as an ES module) and ids (crypto.randomUUID) (see murmurhash.ts, uuid.ts).
  murmurhash: './build/murmurhash.ts',
  uuid: './build/uuid.ts',
  ...Object.fromEntries(
    BUILTINS.flatMap((name) => {
      const shim = `./build/builtins/${name.replace(/[_/]/, '-')}.ts`;
      return [
        [name, shim],
        [`node:${name}`, shim],
      ];
    }),
  ),
};

/**
 * For functions without S3 (the backfill's S3 client keeps the originals): the SDK's checksums
 * reduced to the SHA-256 their calls use (checksum.ts), its HTTP/1.1 handler without HTTP/2 and the
 * `100 Continue` wait of S3 uploads (node-http-handler.ts), and its retry settings without the adaptive
 * mode (retry.ts).
 */
export const WITHOUT_S3: Record<string, string> = {
  '@smithy/core/checksum': './build/checksum.ts',
  '@smithy/node-http-handler': './build/node-http-handler.ts',
  '@smithy/core/retry': './build/retry.ts',
};

/**
 * The aliases a function's bundle takes (BUNDLE_SUBSTITUTES, and WITHOUT_S3 unless it calls S3):
 * module → substitute, relative to the project root, or absolute under `root` when given (for
 * esbuild's API; the CDK passes them relative, from the project root). The one list the stack, the
 * bench and the Lambda-path tests bundle with.
 */
export function bundleSubstitutes(options: { usesS3?: boolean; root?: string } = {}): Record<string, string> {
  const all = { ...BUNDLE_SUBSTITUTES, ...(options.usesS3 ? {} : WITHOUT_S3) };
  const { root } = options;
  if (root === undefined) return all;
  return Object.fromEntries(
    Object.entries(all).map(([module, substitute]) => [module, join(root, substitute)]),
  );
}

/**
 * ESM bundles have no `require`; some bundled CommonJS dependencies still call it for Node
 * built-ins, so the banner gives the module one (and the CommonJS path globals) before any code
 * runs, without ES module imports (see BUNDLE_SUBSTITUTES).
 */
export const ESM_REQUIRE_BANNER = [
  "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);",
  "const __filename = process.getBuiltinModule('node:url').fileURLToPath(import.meta.url);",
  "const __dirname = process.getBuiltinModule('node:path').dirname(__filename);",
].join(' ');

export interface CrosswalkFunctionProps {
  /** Route-table name (`segment-webhook`); also names the logical ID (`SegmentWebhookFunction`). */
  functionName: string;
  /** Names the logical ID instead of `functionName` (the route table's `logicalName`: a renamed function's old name). */
  logicalName?: string;
  /** Entry file, relative to `projectRoot`. */
  entry: string;
  description: string;
  /** Repository root: holds package-lock.json and the entry files. */
  projectRoot: string;
  memoryMb?: number;
  timeoutSeconds?: number;
  /** Concurrency reserved for (and capped at) this function; unset: the account's shared pool. */
  reservedConcurrency?: number;
  environment?: Record<string, string>;
  logRetention: RetentionDays;
  /** Log groups follow the table's policy so a retained stack keeps its logs too. */
  logRemovalPolicy: RemovalPolicy;
  /** Calls S3 (the backfill): keeps the SDK's modules that WITHOUT_S3 replaces (its checksums, MD5 and CRC, among them). */
  usesS3?: boolean;
}

export class CrosswalkFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  /** Stable, readable CloudFormation logical ID, e.g. `HealthFunction` (for `sam local invoke`). */
  readonly logicalId: string;

  constructor(scope: Construct, id: string, props: CrosswalkFunctionProps) {
    super(scope, id);
    this.logicalId = logicalIdOf(props.logicalName ?? props.functionName);

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });

    // Our own role instead of the AWSLambdaBasicExecutionRole managed policy, which may write to
    // any log group in the account: this one writes to its own log group only.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Crosswalk ${props.functionName} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: `${props.projectRoot}/${props.entry}`,
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: `${props.projectRoot}/package-lock.json`,
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memoryMb ?? 512,
      timeout: Duration.seconds(props.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS),
      ...(props.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrency }),
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      // No NODE_OPTIONS=--enable-source-maps: it parses the map at every cold start; the logger maps
      // the frames of logged errors itself, lazily (src/platform/observability/stack-trace.ts).
      environment: { ...props.environment },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        platform: 'node',
        // ESM entry points of dependencies tree-shake better than their CommonJS builds.
        mainFields: ['module', 'main'],
        minify: true,
        // Warnings and errors only: bundle sizes are measured by `npm run bench`, not printed per synth.
        logLevel: LogLevel.WARNING,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        // Stack traces need file and line only; the sources would triple the .map size.
        sourcesContent: false,
        banner: ESM_REQUIRE_BANNER,
        // The Profile API read-through only where the stack configures a Segment space: elsewhere
        // its code (about 26 KB of the decide bundle) is left out (functions/from-config.ts).
        define: {
          'process.env.CROSSWALK_READ_THROUGH_BUNDLED': JSON.stringify(
            props.environment?.SEGMENT_SPACE_ID ? 'true' : 'false',
          ),
        },
        // The runtime's preinstalled SDK is a different version than the one we test with, and
        // loading it from the runtime's node_modules is slower at cold start than a bundled copy.
        bundleAwsSDK: true,
        externalModules: [],
        esbuildArgs: Object.fromEntries(
          Object.entries(bundleSubstitutes({ usesS3: props.usesS3 })).map(([module, substitute]) => [
            `--alias:${module}`,
            substitute,
          ]),
        ),
        // No Docker here: bundling must use the project's esbuild, never silently fall back.
        forceDockerBundling: false,
      },
    });
    (this.function.node.defaultChild as CfnFunction).overrideLogicalId(this.logicalId);
  }

  /**
   * Grants exactly the table access a route-table entry declares: one statement per grant, on the
   * table itself (never its indexes or streams), limited to its item families by a
   * `dynamodb:LeadingKeys` condition on their partition-key prefixes.
   */
  grantTable(table: ITable, grants: readonly TableGrant[]): void {
    grants.forEach((grant, i) => {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: `Table${i}${grant.items.map((item) => item[0]!.toUpperCase() + item.slice(1)).join('')}`,
          effect: Effect.ALLOW,
          actions: grant.actions.map((action) => `dynamodb:${action}`),
          resources: [table.tableArn],
          conditions: {
            'ForAllValues:StringLike': {
              'dynamodb:LeadingKeys': grant.items.map((item) => `${KEY_PREFIX[item]}*`),
            },
          },
        }),
      );
    });
    // Only a customer-managed key (not ours today) needs a grant.
    if (grants.length > 0) table.encryptionKey?.grantEncryptDecrypt(this.role);
  }

  /** Lets the function list one bucket and read its objects, and nothing else of S3. */
  grantBucketRead(bucketName: string): void {
    const bucket = `arn:${Stack.of(this).partition}:s3:::${bucketName}`;
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ sid: 'BackfillBucketList', actions: ['s3:ListBucket'], resources: [bucket] }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'BackfillBucketRead',
        actions: ['s3:GetObject'],
        resources: [`${bucket}/*`],
      }),
    );
  }

  /** Lets the function read these Secrets Manager secrets, and no other. */
  grantSecrets(secrets: readonly ISecret[]): void {
    for (const secret of secrets) secret.grantRead(this.role);
  }
}

/**
 * The logical ID of a route-table function: `segment-webhook` → `SegmentWebhookFunction`; a function
 * with a `logicalName` keeps the ID of that name (`agent-api` → `DecideFunction`).
 */
export function functionLogicalId(
  name: string,
  specs: Readonly<Record<string, FunctionSpec>> = functionSpecs,
): string {
  return logicalIdOf(specs[name]?.logicalName ?? name);
}

function logicalIdOf(name: string): string {
  const pascal = name
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
  return `${pascal}Function`;
}
