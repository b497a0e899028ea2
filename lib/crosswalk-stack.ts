/**
 * The Crosswalk stack, generic over the route table: one function per entry of `functionSpecs`

 * (so permissions differ per function), one HTTP API route per entry of `routes` with its group's
 * throttle, an EventBridge schedule per scheduled function, one table, the imported secrets (one per
 * purpose), and the alarms (events waiting in the outbox among them).
 */
import {
  Annotations,
  CfnOutput,
  CfnParameter,
  CfnRule,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import {
  Alarm,
  type AlarmProps,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { FilterCriteria, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { EVENT_METRICS } from '../src/events/redelivery-policy';
import { deployableVariables } from '../src/platform/config/env';
import { OUTBOX_RELAY_FILTER } from '../src/platform/dynamodb/table-schema';
import { FAILED_OPEN_METRIC } from '../src/platform/observability/faults';
import {
  type FunctionSpec,
  functionSpecs,
  RELAY_BATCH_SIZE,
  RELAY_BATCHING_WINDOW_MS,
  type RouteSpec,
  routes,
  type SecretName,
} from '../src/platform/routes';
import { CrosswalkApi } from './constructs/crosswalk-api';
import { CrosswalkFunction, functionLogicalId } from './constructs/crosswalk-function';
import { IdentityTable } from './constructs/identity-table';
import type { CrosswalkSettings } from './settings';

/** Declared on every function so a SAM env-vars file can set them (empty means default). */
export const SAM_LOCAL_VARIABLES = [...deployableVariables, 'DYNAMODB_ENDPOINT', 'S3_ENDPOINT'] as const;

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

/** Why each route is authorised in its function rather than by API Gateway (cdk-nag APIG4). */
const AUTHORISATION: Record<string, string> = {
  health: 'Public by design: a liveness check that touches no dependency and returns no data.',
  webhooks:
    'Webhook senders cannot use API Gateway authorizers: the function checks the Segment HMAC signature and webhook token, or the Optimizely X-Hub-Signature, in constant time.',
  decisions:
    'Optimizely Agent clients send API keys as headers; the function checks them (client scope) in constant time against keys in Secrets Manager.',
  identities:
    'Operator route: the function requires an operator (admin scope) API key, checked in constant time against keys in Secrets Manager, and logs each read.',
  profiles:
    "Segment Profile API clients send their key as HTTP Basic user name (Segment's convention) or x-api-key: the function requires an operator (admin scope) key, checked in constant time against keys in Secrets Manager, and logs each read.",
};

/** Functions whose routes need another reason than their throttle group's. */
const AUTHORISATION_BY_FUNCTION: Record<string, string> = {
  console:
    'Public by design: the console route serves only its static page, script and style, with no data and no secret; every call the page makes goes to routes that require an operator key.',
};

const ENV_ARN: Record<SecretName, string> = {
  segment: 'SEGMENT_SECRET_ARN',
  apiKeys: 'API_KEYS_SECRET_ARN',
  optimizelyWebhook: 'OPTIMIZELY_WEBHOOK_SECRET_ARN',
  experimentId: 'EXPERIMENT_ID_SECRET_ARN',
  profileApi: 'PROFILE_API_SECRET_ARN',
};

export class CrosswalkStack extends Stack {
  readonly table: IdentityTable;
  readonly api: CrosswalkApi;
  readonly secrets: Record<SecretName, ISecret>;
  readonly functions: ReadonlyMap<string, CrosswalkFunction>;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: CrosswalkStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const specs: Record<string, FunctionSpec> = props.functionSpecs ?? functionSpecs;
    const routeTable = props.routes ?? routes;
    // Logs are evidence: they go when the data goes, and stay when it stays.
    const logRemovalPolicy =
      settings.removalPolicy === RemovalPolicy.RETAIN ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    if (settings.exampleSettings) this.refuseDeployment(settings.exampleSettings);
    this.table = new IdentityTable(this, 'IdentityTable', { removalPolicy: settings.removalPolicy });

    // Imported, never created: secret values must not pass through the template or CDK context.
    // One secret per purpose, so each function's role reads only its own.
    this.secrets = Object.fromEntries(
      (Object.keys(settings.secrets) as SecretName[]).map((name) => {
        const { arn, name: secretName } = settings.secrets[name];
        const logicalId = `${name[0]!.toUpperCase()}${name.slice(1)}Secret`;
        return [
          name,
          arn
            ? Secret.fromSecretCompleteArn(this, logicalId, arn)
            : Secret.fromSecretNameV2(this, logicalId, secretName),
        ];
      }),
    ) as Record<SecretName, ISecret>;

    const functions = new Map<string, CrosswalkFunction>();
    for (const [name, spec] of Object.entries(specs)) {
      const environment: Record<string, string> = {
        // Every runtime setting is declared, empty (= its default) unless the deployer set it: SAM's
        // --env-vars overrides only declared variables, so `sam local invoke` can point a function
        // at DynamoDB Local and local Optimizely edges (events/sam-env.json, docs/local-invoke.md).
        ...Object.fromEntries(SAM_LOCAL_VARIABLES.map((variable) => [variable, ''])),
        LOG_LEVEL: 'info',
        ...settings.functionEnvironment,
        // Every function validates TABLE_NAME at cold start; only granted ones can use it.
        TABLE_NAME: this.table.table.tableName,
        REQUIRE_AUTH: 'true',
      };
      for (const secret of spec.secrets) environment[ENV_ARN[secret]] = this.secrets[secret].secretArn;
      // Reserved (and capped) where the route table says: a Segment backfill and a flood of decides
      // each have a ceiling, so neither can starve the other functions of the account's concurrency.
      const reserved = spec.reservedConcurrency && settings[spec.reservedConcurrency];
      const fn = new CrosswalkFunction(this, functionLogicalId(name, specs), {
        functionName: name,
        ...(spec.logicalName === undefined ? {} : { logicalName: spec.logicalName }),
        entry: spec.entry,
        description: spec.description,
        projectRoot: props.projectRoot,
        ...(spec.memoryMb === undefined ? {} : { memoryMb: spec.memoryMb }),
        ...(spec.timeoutSeconds === undefined ? {} : { timeoutSeconds: spec.timeoutSeconds }),
        ...(reserved === undefined ? {} : { reservedConcurrency: reserved }),
        environment,
        logRetention: settings.logRetention,
        logRemovalPolicy,
        ...((spec as FunctionSpec).readsBackfillBucket ? { usesS3: true } : {}),
      });
      fn.grantTable(this.table.table, spec.table);
      fn.grantSecrets(spec.secrets.map((secret) => this.secrets[secret]));
      if ((spec as FunctionSpec).readsBackfillBucket && settings.backfillBucket) {
        fn.grantBucketRead(settings.backfillBucket);
        Validations.of(fn.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${settings.backfillBucket}/*]`,
          reason:
            'The backfill reads the objects a run is given (Segment writes one per batch, under day folders), so GetObject names every object of the one bucket named by the backfillBucket setting.',
        });
      }
      if ((spec as FunctionSpec).scheduleMinutes !== undefined) {
        new Rule(this, `${functionLogicalId(name, specs)}Schedule`, {
          description: `Runs the ${name} function every ${spec.scheduleMinutes} minute(s)`,
          schedule: Schedule.rate(Duration.minutes((spec as FunctionSpec).scheduleMinutes!)),
          // A failed run is not retried: the next scheduled one does the same work.
          targets: [new LambdaFunction(fn.function, { retryAttempts: 0 })],
        });
      }
      if ((spec as FunctionSpec).relaysOutboxStream) {
        fn.function.addEventSource(
          new DynamoEventSource(this.table.table, {
            startingPosition: StartingPosition.LATEST,
            batchSize: RELAY_BATCH_SIZE,
            maxBatchingWindow: Duration.millis(RELAY_BATCHING_WINDOW_MS),
            // Only new outbox items marked for the relay: other writes never invoke it (nor bill).
            filters: [FilterCriteria.filter(OUTBOX_RELAY_FILTER as unknown as Record<string, unknown>)],
            // The relay never throws for a failed send (the outbox keeps the items); a crash retries
            // the batch a little, then the scheduled redelivery sends the items when due.
            retryAttempts: 2,
            reportBatchItemFailures: false,
          }),
        );
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
      const added = this.api.addRoute(
        route,
        fn.function,
        `${functionLogicalId(route.function, specs)}Integration`,
        settings.throttles[route.throttle],
      );
      Validations.of(added).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: AUTHORISATION_BY_FUNCTION[route.function] ?? AUTHORISATION[route.throttle]!,
      });
    }

    this.addAlarms(settings);

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'TableName', {
      value: this.table.table.tableName,
      description: 'Identity cache table',
    });
    for (const [name, secret] of Object.entries(this.secrets)) {
      new CfnOutput(this, `${name[0]!.toUpperCase()}${name.slice(1)}SecretArn`, {
        value: secret.secretArn,
        description: `Secrets Manager secret "${name}" (partial ARN when imported by name)`,
      });
    }
  }

  /**
   * What an operator must hear about: server errors, throttling (API, functions, table) and
   * decision or conversion events that could not be delivered. Notified through an SNS topic when
   * one is configured (alarmTopicArn, or alarmEmail for a new one).
   */
  private addAlarms(settings: CrosswalkSettings): void {
    const period = Duration.minutes(1);
    const apiMetric = (metricName: string) =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: this.api.api.apiId, Stage: '$default' },
        statistic: 'Sum',
        period,
      });
    const alarm = (
      id: string,
      props: Omit<AlarmProps, 'evaluationPeriods'> & { evaluationPeriods?: number },
    ) =>
      this.alarms.push(
        new Alarm(this, id, {
          evaluationPeriods: 5,
          datapointsToAlarm: 3,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          ...props,
        }),
      );

    alarm('Api5xxRate', {
      alarmDescription: 'More than 1 % of API requests answered 5xx (3 of the last 5 minutes)',
      metric: new MathExpression({
        expression: 'IF(requests > 0, errors / requests, 0)',
        usingMetrics: { errors: apiMetric('5xx'), requests: apiMetric('Count') },
        period,
      }),
      threshold: 0.01,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    alarm('ApiThrottled', {
      alarmDescription: 'API Gateway throttled requests (429) in 3 of the last 5 minutes',
      metric: apiMetric('429'),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    for (const [name, fn] of this.functions) {
      alarm(`${fn.logicalId}Throttles`, {
        alarmDescription: `Lambda throttled ${name} in 3 of the last 5 minutes`,
        metric: fn.function.metricThrottles({ period, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
    }
    alarm('TableThrottled', {
      alarmDescription: 'DynamoDB throttled reads or writes of the identity table',
      metric: new MathExpression({
        expression: 'reads + writes',
        usingMetrics: {
          reads: this.table.table.metric('ReadThrottleEvents', { statistic: 'Sum', period }),
          writes: this.table.table.metric('WriteThrottleEvents', { statistic: 'Sum', period }),
        },
        period,
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    // Decide hides a DynamoDB fault from its callers (it fails open, answering 200): this says so.
    alarm('DecideFailingOpen', {
      alarmDescription:
        'decide answered without reading the identity cache, overrides or saved profiles (DynamoDB failing or slow) in 3 of the last 5 minutes (docs/operations.md)',
      metric: new Metric({
        namespace: 'Crosswalk',
        metricName: FAILED_OPEN_METRIC,
        statistic: 'Sum',
        period,
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    alarm('EventsLost', {
      alarmDescription:
        'Optimizely events were neither delivered nor stored in the outbox (both failed; docs/events.md)',
      metric: new Metric({
        namespace: 'Crosswalk',
        metricName: EVENT_METRICS.lost,
        statistic: 'Sum',
        period,
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
    });
    const undelivered = new Alarm(this, 'UndeliveredEventsAlarm', {
      alarmDescription:
        'Optimizely events have waited in the outbox for over 30 minutes: the event API refuses or cannot be reached (docs/events.md)',
      // Emitted by every redelivery run (src/events/redelivery.ts), without dimensions.
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
    this.alarms.push(undelivered);
    new CfnOutput(this, 'UndeliveredEventsAlarmName', {
      value: undelivered.alarmName,
      description: 'Alarm on Optimizely events waiting in the outbox',
    });

    const topic = settings.alarmTopicArn
      ? Topic.fromTopicArn(this, 'AlarmTopic', settings.alarmTopicArn)
      : settings.alarmEmail
        ? new Topic(this, 'AlarmTopic', { displayName: 'Crosswalk alarms', enforceSSL: true })
        : undefined;
    if (topic && settings.alarmEmail && !settings.alarmTopicArn) {
      (topic as Topic).addSubscription(new EmailSubscription(settings.alarmEmail));
    }
    if (topic) for (const a of this.alarms) a.addAlarmAction(new SnsAction(topic));
  }

  private suppressFunctionFindings(fn: CrosswalkFunction): void {
    // Only the X-Ray wildcard: other findings on a function must fail the nag test.
    Validations.of(fn.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions, so active tracing needs Resource *.',
    });
  }

  /**
   * A template synthesized with example settings shows what would be deployed, but CloudFormation
   * must refuse it: a parameter without a default (the CDK CLI stops on a missing value) whose only
   * allowed value fails a rule.
   */
  private refuseDeployment(reason: string): void {
    Annotations.of(this).addWarningV2('crosswalk:example-settings', reason);
    const guard = new CfnParameter(this, 'ExampleSettingsNotDeployable', {
      type: 'String',
      allowedValues: ['refused'],
      description: reason,
    });
    new CfnRule(this, 'ExampleSettingsRefused', {
      assertions: [
        { assert: Fn.conditionEquals(guard.valueAsString, 'deployable'), assertDescription: reason },
      ],
    });
  }
}
