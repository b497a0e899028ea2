/**
 * The Crosswalk stack, generic over the route table: one function per entry of `functionSpecs`
 * (so permissions differ per function), one HTTP API route per entry of `routes`, an EventBridge
 * schedule per scheduled function, one table, the one imported secret, and the alarm on events
 * waiting in the outbox.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { deployableVariables } from '../functions/config/env';
import { EVENT_METRICS } from '../functions/events/redelivery-policy';
import { type FunctionSpec, functionSpecs, type RouteSpec, routes } from '../functions/routes';
import { CrosswalkApi } from './constructs/crosswalk-api';
import { CrosswalkFunction, functionLogicalId } from './constructs/crosswalk-function';
import { IdentityTable } from './constructs/identity-table';
import type { CrosswalkSettings } from './settings';

/** Declared on every function so a SAM env-vars file can set them (empty means default). */
export const SAM_LOCAL_VARIABLES = [...deployableVariables, 'DYNAMODB_ENDPOINT'] as const;

/**
 * The undelivered-events alarm: the oldest waiting event is older than this. Redelivery retries at
 * least every EVENT_RETRY_MAX_MS (10 min by default), so a healthy endpoint empties the outbox well
 * before; past it, Optimizely has been refusing or unreachable for half an hour.
 */
export const UNDELIVERED_EVENTS_ALARM_SECONDS = 30 * 60;
/** Longer than EVENT_RETRY_MAX_MS's default plus the schedule: every waiting batch is seen within it. */
const UNDELIVERED_EVENTS_ALARM_PERIOD = Duration.minutes(15);

export interface CrosswalkStackProps extends StackProps {
  settings: CrosswalkSettings;
  /** Repository root (entry files and package-lock.json). */
  projectRoot: string;
  /** Tests pass their own tables; the default is the real route table. */
  functionSpecs?: Record<string, FunctionSpec>;
  routes?: readonly RouteSpec[];
}

export class CrosswalkStack extends Stack {
  readonly table: IdentityTable;
  readonly api: CrosswalkApi;
  readonly secret: ISecret;
  readonly functions: ReadonlyMap<string, CrosswalkFunction>;
  readonly undeliveredEventsAlarm: Alarm;

  constructor(scope: Construct, id: string, props: CrosswalkStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const specs: Record<string, FunctionSpec> = props.functionSpecs ?? functionSpecs;
    const routeTable = props.routes ?? routes;
    // Logs are evidence: they go when the data goes, and stay when it stays.
    const logRemovalPolicy =
      settings.removalPolicy === RemovalPolicy.RETAIN ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.table = new IdentityTable(this, 'IdentityTable', { removalPolicy: settings.removalPolicy });

    // Imported, never created: secret values must not pass through the template or CDK context.
    this.secret = settings.secretArn
      ? Secret.fromSecretCompleteArn(this, 'Secrets', settings.secretArn)
      : Secret.fromSecretNameV2(this, 'Secrets', settings.secretName);

    const functions = new Map<string, CrosswalkFunction>();
    for (const [name, spec] of Object.entries(specs)) {
      const environment: Record<string, string> = {
        // Every runtime setting is declared, empty (= its default) unless the deployer set it: SAM's
        // --env-vars overrides only declared variables, so `sam local invoke` can point a function
        // at DynamoDB Local and local Optimizely edges (events/sam-env.json, docs/local-invoke.md).
        ...Object.fromEntries(SAM_LOCAL_VARIABLES.map((name) => [name, ''])),
        LOG_LEVEL: 'info',
        ...settings.functionEnvironment,
        // Every function validates TABLE_NAME at cold start; only granted ones can use it.
        TABLE_NAME: this.table.table.tableName,
        REQUIRE_AUTH: 'true',
      };
      if (spec.secrets.length > 0) environment.SECRETS_ARN = this.secret.secretArn;
      const fn = new CrosswalkFunction(this, functionLogicalId(name), {
        functionName: name,
        entry: spec.entry,
        description: spec.description,
        projectRoot: props.projectRoot,
        ...(spec.memoryMb === undefined ? {} : { memoryMb: spec.memoryMb }),
        ...(spec.timeoutSeconds === undefined ? {} : { timeoutSeconds: spec.timeoutSeconds }),
        environment,
        logRetention: settings.logRetention,
        logRemovalPolicy,
      });
      fn.grantTable(this.table.table, spec.tableAccess);
      if (spec.outbox) fn.grantOutbox(this.table.table, spec.outbox);
      if (spec.secrets.length > 0) fn.grantSecrets(this.secret);
      if (spec.scheduleMinutes !== undefined) {
        new Rule(this, `${functionLogicalId(name)}Schedule`, {
          description: `Runs the ${name} function every ${spec.scheduleMinutes} minute(s)`,
          schedule: Schedule.rate(Duration.minutes(spec.scheduleMinutes)),
          // A failed run is not retried: the next scheduled one does the same work.
          targets: [new LambdaFunction(fn.function, { retryAttempts: 0 })],
        });
      }
      functions.set(name, fn);
      this.suppressFunctionFindings(fn);
    }
    this.functions = functions;

    this.api = new CrosswalkApi(this, 'Api', {
      throttleRateLimit: settings.throttleRateLimit,
      throttleBurstLimit: settings.throttleBurstLimit,
      logRetention: settings.logRetention,
      logRemovalPolicy,
    });
    for (const route of routeTable) {
      const fn = functions.get(route.function);
      if (!fn)
        throw new Error(`Route ${route.method} ${route.path} names unknown function ${route.function}`);
      this.api.addRoute(route, fn.function, `${functionLogicalId(route.function)}Integration`);
    }
    Validations.of(this.api.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Authorisation is in the functions: clients send Crosswalk API keys as headers (Optimizely Agent style), the Segment webhook is checked by HMAC signature and token, the Optimizely webhook by X-Hub-Signature, and /health is public by design. API Gateway authorizers cannot check these.',
    });

    this.undeliveredEventsAlarm = new Alarm(this, 'UndeliveredEventsAlarm', {
      alarmDescription:
        'Optimizely events have waited in the outbox for over 30 minutes: the event API refuses or cannot be reached (docs/events.md)',
      // Emitted by every redelivery run (functions/events/redelivery.ts), without dimensions.
      metric: new Metric({
        namespace: 'Crosswalk',
        metricName: EVENT_METRICS.oldestAge,
        statistic: 'Maximum',
        period: UNDELIVERED_EVENTS_ALARM_PERIOD,
      }),
      threshold: UNDELIVERED_EVENTS_ALARM_SECONDS,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // No data: no redelivery run reported (metrics off, or the function failing, which its own
      // errors show); not evidence of waiting events.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'TableName', {
      value: this.table.table.tableName,
      description: 'Identity cache table',
    });
    new CfnOutput(this, 'SecretArn', {
      value: this.secret.secretArn,
      description: 'Secrets Manager secret the functions read (partial ARN when imported by name)',
    });
    new CfnOutput(this, 'UndeliveredEventsAlarmName', {
      value: this.undeliveredEventsAlarm.alarmName,
      description: 'Alarm on Optimizely events waiting in the outbox (add an action to be notified)',
    });
  }

  private suppressFunctionFindings(fn: CrosswalkFunction): void {
    // Only the X-Ray wildcard: other findings on a function must fail the nag test.
    Validations.of(fn.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions, so active tracing needs Resource *.',
    });
  }
}
