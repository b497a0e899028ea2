/**
 * The stack's security-relevant shape, checked on a synthesized template. The app is synthesized
 * once per file with bundling skipped (`aws:cdk:bundling-stacks: []`), so no esbuild runs here;
 * `npm run synth` bundles for real.
 */
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { functionLogicalId } from '../../../lib/constructs/crosswalk-function';
import { CrosswalkStack } from '../../../lib/crosswalk-stack';
import { EXAMPLE_SDK_KEY, readSettings } from '../../../lib/settings';
import { EVENT_METRICS } from '../../../src/events/redelivery-policy';
import { OUTBOX_RELAY_FILTER, TABLE_TTL_ATTRIBUTE } from '../../../src/platform/dynamodb/table-schema';
import {
  type FunctionSpec,
  functionSpecs,
  RELAY_BATCH_SIZE,
  RELAY_BATCHING_WINDOW_MS,
  routes,
} from '../../../src/platform/routes';

const projectRoot = resolve(import.meta.dirname, '..', '..', '..');
const specs = Object.entries(functionSpecs as Record<string, FunctionSpec>);

type Statement = {
  Sid?: string;
  Action: string | string[];
  Effect: string;
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

function synthesize(context: Record<string, unknown> = {}) {
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [], OPTIMIZELY_SDK_KEYS: 'sdk-key-1', ...context },
  });
  // An empty shell environment: a developer's exported variables must not change the test.
  const stack = new CrosswalkStack(app, 'Crosswalk', { settings: readSettings(app.node, {}), projectRoot });
  return { app, stack, template: Template.fromStack(stack) };
}

let app: App;
let stack: CrosswalkStack;
let template: Template;

beforeAll(() => {
  ({ app, stack, template } = synthesize());
});

/** Statements of the policy attached to one function's role. */
function statementsOf(functionName: string): Statement[] {
  const fn = stack.functions.get(functionName)!;
  const roleId = stack.getLogicalId(fn.role.node.defaultChild as never);
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: roleId }] },
  });
  return Object.values(policies).flatMap(
    (p) =>
      (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
        .Statement,
  );
}

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const tableLogicalId = () => stack.getLogicalId(stack.table.table.node.defaultChild as never);
/** Any statement naming the table, its indexes or streams, whatever its shape. */
const touchesTable = (s: Statement) => JSON.stringify(s.Resource).includes(tableLogicalId());
const isSecretAction = (a: string) => a.startsWith('secretsmanager:');
/** The relay's trigger reads the table's stream (DynamoEventSource's grant), nothing of its items. */
const STREAM_READ = [
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:ListStreams',
];
const isStreamRead = (s: Statement) => actionsOf(s).every((a) => STREAM_READ.includes(a));

describe('CrosswalkStack', () => {
  it.each(specs)(
    'defines the %s function: Node.js 24 on arm64, traced, with readable logical ID',
    (name, spec) => {
      const resources = template.findResources('AWS::Lambda::Function');
      const fn = resources[functionLogicalId(name)] as { Properties: Record<string, unknown> } | undefined;
      expect(fn).toBeDefined();
      expect(fn!.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        MemorySize: spec.memoryMb ?? 512,
        Timeout: spec.timeoutSeconds ?? 10,
        Environment: {
          Variables: expect.objectContaining({
            REQUIRE_AUTH: 'true',
            LOG_LEVEL: 'info',
            TABLE_NAME: { Ref: expect.any(String) },
          }),
        },
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      });
      // Source maps are applied lazily by the logger, not parsed at every cold start.
      const variables = (fn!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables.NODE_OPTIONS).toBeUndefined();
    },
  );

  it('defines one function per route-table entry and nothing else', () => {
    template.resourceCountIs('AWS::Lambda::Function', specs.length);
  });

  it('keeps logs in per-function log groups with a retention', () => {
    template.resourceCountIs('AWS::Logs::LogGroup', specs.length + 1);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('defines an on-demand table with PITR, TTL and encryption, retained by default', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: TABLE_TTL_ATTRIBUTE, Enabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('destroys the table when the removalPolicy context says so', () => {
    const { template: destroyed } = synthesize({ removalPolicy: 'destroy' });
    destroyed.hasResource('AWS::DynamoDB::Table', {
      Properties: { DeletionProtectionEnabled: false },
      DeletionPolicy: 'Delete',
    });
  });

  it('passes runtime settings from context to the functions and rejects invalid ones', () => {
    const { template: configured } = synthesize({ ACCOUNT_BUCKETED_FLAGS: 'a,b', OPTIMIZELY_SDK_KEY: 'sdk' });
    configured.allResourcesProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ ACCOUNT_BUCKETED_FLAGS: 'a,b', OPTIMIZELY_SDK_KEY: 'sdk' }),
      },
    });
    expect(() => synthesize({ DATAFILE_REVALIDATE_SECONDS: 'soon' })).toThrow(/DATAFILE_REVALIDATE_SECONDS/);
  });

  it('serves every route of the route table through a payload 2.0 Lambda proxy integration', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', routes.length);
    for (const route of routes) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: `${route.method} ${route.path}`,
        Target: Match.anyValue(),
      });
    }
    template.allResourcesProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
  });

  it('throttles and access-logs the $default stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: {
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp('\\$context.requestId'),
      },
    });
  });

  it('outputs the API URL and the table name', () => {
    template.hasOutput('ApiUrl', {});
    template.hasOutput('TableName', {});
  });

  it('attaches no AWS managed policy to any function role', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect((role as { Properties: Record<string, unknown> }).Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  const READ_THROUGH = [
    {
      actions: ['GetItem', 'BatchGetItem', 'PutItem', 'DeleteItem', 'ConditionCheckItem'],
      leadingKeys: ['ID#*', 'PROFILE#*', 'ACCOUNT#*', 'MSG#*'],
    },
    { actions: ['UpdateItem'], leadingKeys: ['LIMIT#*'] },
  ];
  /** Exactly what each role may do to the table: actions, and the key prefixes they are limited to. */
  const TABLE_ACCESS: Record<string, { actions: string[]; leadingKeys: string[] }[]> = {
    health: [],
    'segment-webhook': [
      {
        actions: ['GetItem', 'BatchGetItem', 'PutItem', 'DeleteItem', 'ConditionCheckItem'],
        leadingKeys: ['ID#*', 'PROFILE#*', 'ACCOUNT#*', 'MSG#*'],
      },
      { actions: ['PutItem'], leadingKeys: ['ERASE#*'] },
    ],
    // The Profile API read-through writes what it learns through the webhook's ingest rules, and
    // counts its calls in the shared limiter (docs/profile-api.md).
    'identity-lookup': [...READ_THROUGH],
    'agent-api': [
      ...READ_THROUGH,
      { actions: ['GetItem', 'PutItem'], leadingKeys: ['DATAFILE#*'] },
      { actions: ['GetItem', 'PutItem', 'DeleteItem', 'Query'], leadingKeys: ['OVERRIDE#*'] },
      { actions: ['GetItem', 'PutItem'], leadingKeys: ['UPS#*'] },
      { actions: ['PutItem', 'DeleteItem'], leadingKeys: ['OUTBOX#*'] },
    ],
    console: [],
    'optimizely-webhook': [{ actions: ['GetItem', 'PutItem'], leadingKeys: ['DATAFILE#*'] }],
    'event-redelivery': [
      { actions: ['Query', 'PutItem', 'DeleteItem'], leadingKeys: ['OUTBOX#*'] },
      { actions: ['Query', 'DeleteItem'], leadingKeys: ['ERASE#*'] },
      { actions: ['Query', 'DeleteItem'], leadingKeys: ['UPS#*', 'OVERRIDE#*'] },
    ],
    'profile-reads': [...READ_THROUGH],
    'segment-backfill': [
      {
        actions: ['GetItem', 'BatchGetItem', 'PutItem', 'DeleteItem', 'ConditionCheckItem'],
        leadingKeys: ['ID#*', 'PROFILE#*', 'ACCOUNT#*', 'MSG#*'],
      },
      { actions: ['PutItem'], leadingKeys: ['ERASE#*'] },
      { actions: ['GetItem', 'PutItem'], leadingKeys: ['BACKFILL#*'] },
    ],
  };
  const SECRETS: Record<string, string[]> = {
    health: [],
    'segment-webhook': ['SEGMENT_SECRET_ARN'],
    // The Profile API token (secret `profileApi`): only the functions that call the Profile API.
    'identity-lookup': ['API_KEYS_SECRET_ARN', 'EXPERIMENT_ID_SECRET_ARN', 'PROFILE_API_SECRET_ARN'],
    'agent-api': ['API_KEYS_SECRET_ARN', 'EXPERIMENT_ID_SECRET_ARN', 'PROFILE_API_SECRET_ARN'],
    console: [],
    'optimizely-webhook': ['OPTIMIZELY_WEBHOOK_SECRET_ARN'],
    'event-redelivery': ['EXPERIMENT_ID_SECRET_ARN'],
    'profile-reads': ['API_KEYS_SECRET_ARN', 'EXPERIMENT_ID_SECRET_ARN', 'PROFILE_API_SECRET_ARN'],
    'segment-backfill': [],
  };
  const SECRET_ARN_VARIABLES = [
    'SEGMENT_SECRET_ARN',
    'API_KEYS_SECRET_ARN',
    'OPTIMIZELY_WEBHOOK_SECRET_ARN',
    'EXPERIMENT_ID_SECRET_ARN',
    'PROFILE_API_SECRET_ARN',
  ];

  it('knows every function of the route table', () => {
    expect(Object.keys(TABLE_ACCESS).sort()).toEqual(specs.map(([name]) => name).sort());
  });

  describe.each(specs)('least privilege of %s', (name) => {
    it('holds exactly its table grants, each limited to its item families by leading keys', () => {
      const statements = statementsOf(name).filter((st) => touchesTable(st) && !isStreamRead(st));
      expect(
        statements.map((st) => ({
          actions: actionsOf(st).map((a) => a.replace('dynamodb:', '')),
          leadingKeys: st.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'],
        })),
      ).toEqual(TABLE_ACCESS[name]);
      // The table itself, never its indexes or streams, and no DynamoDB action anywhere else.
      for (const st of statements) expect(st.Resource).toEqual({ 'Fn::GetAtt': [tableLogicalId(), 'Arn'] });
      const elsewhere = statementsOf(name)
        .filter((st) => !touchesTable(st) && !isStreamRead(st))
        .flatMap(actionsOf)
        .filter((a) => a.startsWith('dynamodb:'));
      expect(elsewhere).toEqual([]);
      // No Scan or wildcard for anyone; a Query reads one partition of a project's overrides, of
      // the event outbox, of the erasure jobs or of a project registry, never identities.
      // UpdateItem only counts the shared limiter's calls.
      expect(statements.flatMap(actionsOf).filter((a) => /Scan|\*/.test(a))).toEqual([]);
      for (const st of statements.filter((s) => actionsOf(s).includes('dynamodb:UpdateItem'))) {
        expect(st.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']).toEqual(['LIMIT#*']);
        expect(actionsOf(st)).toEqual(['dynamodb:UpdateItem']);
      }
      for (const st of statements.filter((s) => actionsOf(s).includes('dynamodb:Query'))) {
        const prefixes: unknown = st.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
        expect([
          ['OVERRIDE#*'],
          ['OUTBOX#*'],
          ['ERASE#*'],
          ['UPS#*', 'OVERRIDE#*'],
          ['ACCOUNT#*'],
        ]).toContainEqual(prefixes);
      }
    });

    it('reads only its own secrets', () => {
      const variables = (
        template.findResources('AWS::Lambda::Function')[functionLogicalId(name)] as {
          Properties: { Environment: { Variables: Record<string, unknown> } };
        }
      ).Properties.Environment.Variables;
      const given = SECRET_ARN_VARIABLES.filter((v) => variables[v] !== undefined);
      expect(given.sort()).toEqual([...SECRETS[name]!].sort());
      const secretStatements = statementsOf(name).filter((st) => actionsOf(st).some(isSecretAction));
      expect(secretStatements).toHaveLength(SECRETS[name]!.length);
      for (const st of secretStatements) {
        expect(actionsOf(st).filter(isSecretAction).sort()).toEqual([
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
        ]);
      }
    });
  });

  it('runs each scheduled function on an EventBridge schedule, and routes none of them', () => {
    const scheduled = specs.filter(([, spec]) => spec.scheduleMinutes !== undefined);
    expect(scheduled.map(([name]) => name)).toEqual(['event-redelivery']);
    template.resourceCountIs('AWS::Events::Rule', scheduled.length);
    for (const [name, spec] of scheduled) {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: `rate(${spec.scheduleMinutes} minute${spec.scheduleMinutes === 1 ? '' : 's'})`,
        State: 'ENABLED',
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionLogicalId(name), 'Arn'] } })],
      });
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [functionLogicalId(name), 'Arn'] },
      });
      expect(routes.filter((r) => r.function === name)).toEqual([]);
    }
  });

  it('streams the table (new images) to the relay, filtered to new outbox items marked for it', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
    });
    const relays = specs.filter(([, spec]) => (spec as FunctionSpec).relaysOutboxStream);
    expect(relays.map(([name]) => name)).toEqual(['event-redelivery']);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', relays.length);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId('event-redelivery') },
      EventSourceArn: { 'Fn::GetAtt': [tableLogicalId(), 'StreamArn'] },
      StartingPosition: 'LATEST',
      BatchSize: RELAY_BATCH_SIZE,
      MaximumBatchingWindowInSeconds: RELAY_BATCHING_WINDOW_MS / 1000,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(OUTBOX_RELAY_FILTER) }] },
    });
    // Stream reads for the relay only, on the table's stream alone (ListStreams takes no resource).
    for (const [name] of specs) {
      const reads = statementsOf(name).filter(isStreamRead);
      expect([name, reads.length > 0]).toEqual([name, name === 'event-redelivery']);
      for (const st of reads.filter((r) => !actionsOf(r).includes('dynamodb:ListStreams')))
        expect(st.Resource).toEqual({ 'Fn::GetAtt': [tableLogicalId(), 'StreamArn'] });
    }
  });

  it('alarms when the oldest undelivered Optimizely event is older than 30 minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Crosswalk',
      MetricName: EVENT_METRICS.oldestAge,
      Statistic: 'Maximum',
      Period: 900,
      Threshold: 1800,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    template.hasOutput('UndeliveredEventsAlarmName', {});
  });

  it('lets only the backfill function read S3, and only the backfillBucket: list it, get its objects', () => {
    const s3Statements = (name: string) =>
      statementsOf(name).filter((st) => actionsOf(st).some((a) => a.startsWith('s3:')));
    for (const [name] of specs) expect({ name, s3: s3Statements(name) }).toEqual({ name, s3: [] });
    const { stack: withBucket, app: bucketApp } = synthesize({ backfillBucket: 'acme-segment-archive' });
    const fn = withBucket.functions.get('segment-backfill')!;
    const policies = Template.fromStack(withBucket).findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: withBucket.getLogicalId(fn.role.node.defaultChild as never) }] },
    });
    const statements = Object.values(policies).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
          .Statement,
    );
    const bucketArn = (suffix: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::acme-segment-archive${suffix}`]],
    });
    expect(statements.filter((st) => actionsOf(st).some((a) => a.startsWith('s3:')))).toEqual([
      expect.objectContaining({ Action: 's3:ListBucket', Resource: bucketArn('') }),
      expect.objectContaining({ Action: 's3:GetObject', Resource: bucketArn('/*') }),
    ]);
    const report = new AwsSolutionsChecks(bucketApp).validateScope(bucketApp);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
    expect(() => synthesize({ backfillBucket: 'Not A Bucket' })).toThrow(/backfillBucket/);
  });

  it('never puts a secret value in the template', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(
      /SEGMENT_SHARED_SECRET|"API_KEYS"|ADMIN_API_KEYS|OPTIMIZELY_WEBHOOK_SECRET"|EXPERIMENT_ID_SECRET"/,
    );
  });

  it("throttles every route with its group's limits, its own bucket per route (as docs/deploy.md says), with context overrides", () => {
    const stage = () =>
      Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0] as {
        Properties: {
          RouteSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }>;
        };
      };
    const settings = stage().Properties.RouteSettings;
    expect(Object.keys(settings).sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    // HTTP APIs throttle per route (no bucket is shared by routes): each route of a group carries
    // the group's limits, so a group's ceiling is its routes times them.
    const groups = readSettings(app.node, {}).throttles;
    for (const route of routes) {
      expect(settings[`${route.method} ${route.path}`]).toEqual({
        ThrottlingRateLimit: groups[route.throttle].rateLimit,
        ThrottlingBurstLimit: groups[route.throttle].burstLimit,
      });
    }
    expect(settings['POST /v1/decide']).toEqual({ ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 });
    expect(settings['POST /webhooks/segment']).toEqual({
      ThrottlingRateLimit: 50,
      ThrottlingBurstLimit: 100,
    });
    expect(settings['GET /v1/identities/{type}/{value}']).toEqual({
      ThrottlingRateLimit: 5,
      ThrottlingBurstLimit: 10,
    });
    const { template: tuned } = synthesize({ decisionsRateLimit: '300', webhooksBurstLimit: '7' });
    const tunedStage = Object.values(tuned.findResources('AWS::ApiGatewayV2::Stage'))[0] as ReturnType<
      typeof stage
    >;
    expect(tunedStage.Properties.RouteSettings['POST /v1/track']?.ThrottlingRateLimit).toBe(300);
    expect(tunedStage.Properties.RouteSettings['POST /webhooks/optimizely']?.ThrottlingBurstLimit).toBe(7);
  });

  it('keeps the logical ids of renamed functions, so a deployed stack updates them in place', () => {
    const ids = Object.keys(template.findResources('AWS::Lambda::Function')).sort();
    expect(ids).toEqual(
      [
        'HealthFunction',
        'SegmentWebhookFunction',
        'IdentitiesFunction',
        'DecideFunction',
        'ProfilesFunction',
        'BackfillFunction',
        'ConsoleFunction',
        'OptimizelyWebhookFunction',
        'RedeliveryFunction',
      ].sort(),
    );
    expect(functionLogicalId('agent-api')).toBe('DecideFunction');
    expect(functionLogicalId('event-redelivery')).toBe('RedeliveryFunction');
  });

  it('reserves (and caps) the concurrency of the Segment webhook and decide, so neither can starve the others', () => {
    const reservedOf = (t: Template, name: string) =>
      (t.findResources('AWS::Lambda::Function') as Record<string, { Properties: Record<string, unknown> }>)[
        functionLogicalId(name)
      ]!.Properties.ReservedConcurrentExecutions;
    expect(reservedOf(template, 'segment-webhook')).toBe(10);
    expect(reservedOf(template, 'agent-api')).toBe(200);
    // The identities, redelivery and Optimizely webhook functions draw on the unreserved pool.
    for (const [name] of specs.filter(([n]) => n !== 'segment-webhook' && n !== 'agent-api')) {
      expect(reservedOf(template, name)).toBeUndefined();
    }
    const { template: tuned } = synthesize({
      decideReservedConcurrency: '50',
      segmentReservedConcurrency: 5,
    });
    expect(reservedOf(tuned, 'agent-api')).toBe(50);
    expect(reservedOf(tuned, 'segment-webhook')).toBe(5);
    expect(() => synthesize({ decideReservedConcurrency: '0' })).toThrow(/decideReservedConcurrency/);
  });

  it('alarms on 5xx rate, throttles, DynamoDB throttling, decide failing open, lost and waiting events, notifying a topic when asked', () => {
    const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Api5xxRate/),
        expect.stringMatching(/^ApiThrottled/),
        expect.stringMatching(/^TableThrottled/),
        expect.stringMatching(/^DecideFailingOpen/),
        expect.stringMatching(/^EventsLost/),
        expect.stringMatching(/^UndeliveredEventsAlarm/),
        ...specs.map(([name]) => expect.stringMatching(new RegExp(`^${functionLogicalId(name)}Throttles`))),
      ]),
    );
    template.resourceCountIs('AWS::SNS::Topic', 0);
    const { template: notified } = synthesize({ alarmEmail: 'ops@example.com' });
    notified.resourceCountIs('AWS::SNS::Topic', 1);
    notified.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    notified.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [Match.anyValue()] });
  });

  it('synthesizes an example that CloudFormation refuses when OPTIMIZELY_SDK_KEYS is not set', () => {
    const { template: example, stack: exampleStack } = synthesize({ OPTIMIZELY_SDK_KEYS: '' });
    // Marked in every function's environment, and a parameter with no default whose only value fails a rule.
    example.allResourcesProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ OPTIMIZELY_SDK_KEYS: EXAMPLE_SDK_KEY }) },
    });
    const parameters = example.findParameters('ExampleSettingsNotDeployable');
    expect(parameters.ExampleSettingsNotDeployable).toEqual(
      expect.objectContaining({ AllowedValues: ['refused'] }),
    );
    expect(parameters.ExampleSettingsNotDeployable).not.toHaveProperty('Default');
    const rules = example.toJSON().Rules as Record<string, { Assertions: { Assert: unknown }[] }>;
    expect(rules.ExampleSettingsRefused?.Assertions).toEqual([
      expect.objectContaining({
        Assert: { 'Fn::Equals': [{ Ref: 'ExampleSettingsNotDeployable' }, 'deployable'] },
        AssertDescription: expect.stringMatching(/set it .*OPTIMIZELY_SDK_KEYS/),
      }),
    ]);
    const warnings = Annotations.fromStack(exampleStack).findWarning('*', Match.stringLikeRegexp('example'));
    expect(warnings).toHaveLength(1);
    // A deployable template has neither.
    expect(template.toJSON().Parameters).not.toHaveProperty('ExampleSettingsNotDeployable');
    expect(template.toJSON().Rules).not.toHaveProperty('ExampleSettingsRefused');
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map(
      (v) =>
        `${v.ruleName} (${v.severity}) at ${v.violatingResources.map((r) => r.constructPath ?? r.resourceLogicalId).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });

  it('acknowledges the console routes as public for their own reason, not the operators’', () => {
    const reasons = new Map<string, string>();
    const visit = (c: IConstruct) => {
      for (const entry of c.node.metadata)
        if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
          const reason = (entry.data as Record<string, string>)['Annotation::AwsSolutions-APIG4'];
          if (reason) reasons.set(c.node.path, reason);
        }
      for (const child of c.node.children) visit(child);
    };
    visit(app);
    const consoleReasons = [...reasons].filter(([path]) => /console/i.test(path)).map(([, r]) => r);
    expect(consoleReasons).toHaveLength(routes.filter((r) => r.function === 'console').length);
    for (const reason of consoleReasons) expect(reason).toMatch(/^Public by design: .*static page/);
    const lookup = [...reasons].find(([path]) => /lookup/i.test(path));
    expect(lookup?.[1]).toMatch(/^Operator route/);
  });

  it('acknowledges nag findings narrowly, each with a specific reason', () => {
    const acknowledgments: { path: string; id: string; reason: string }[] = [];
    const visit = (c: IConstruct) => {
      for (const entry of c.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          acknowledgments.push({ path: c.node.path, id, reason });
        }
      }
      for (const child of c.node.children) visit(child);
    };
    visit(app);
    expect(acknowledgments.length).toBeGreaterThan(0);
    for (const ack of acknowledgments) {
      // Narrow: never on the stack or app as a whole.
      expect(ack.path).not.toBe(stack.node.path);
      expect(ack.reason.length).toBeGreaterThan(40);
      // A wildcard finding is acknowledged only for the exact resource it names.
      if (ack.id.includes('IAM5'))
        expect(ack.id).toMatch(/IAM5\[Resource::(\*|arn:<AWS::Partition>:s3:::[a-z0-9.-]+\/\*)\]$/);
    }
  });
});
