/**
 * The stack's security-relevant shape, checked on a synthesized template. The app is synthesized
 * once per file with bundling skipped (`aws:cdk:bundling-stacks: []`), so no esbuild runs here;
 * `npm run synth` bundles for real.
 */
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { EVENT_METRICS } from '../../../functions/events/redelivery-policy';
import { type FunctionSpec, functionSpecs, routes } from '../../../functions/routes';
import {
  DATAFILE_KEY_PREFIX,
  OUTBOX_KEY_PREFIX,
  TABLE_TTL_ATTRIBUTE,
} from '../../../functions/storage/table-schema';
import { functionLogicalId, OUTBOX_ACTIONS } from '../../../lib/constructs/crosswalk-function';
import { CrosswalkStack } from '../../../lib/crosswalk-stack';
import { readSettings } from '../../../lib/settings';

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
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
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
const WRITE_ACTIONS = /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|ConditionCheckItem|\*)$/;
/** The event outbox's grant (grantOutbox), checked on its own below. */
const isOutboxGrant = (s: Statement) => s.Sid === 'EventOutboxItems';

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

  describe.each(specs)('least privilege of %s', (name, spec) => {
    const tableStatements = () => statementsOf(name).filter((s) => touchesTable(s) && !isOutboxGrant(s));

    it(`has table access "${spec.tableAccess}" and no more`, () => {
      const statements = tableStatements();
      if (spec.tableAccess === 'none') {
        expect(statements).toEqual([]);
        expect(
          statementsOf(name)
            .filter((s) => !isOutboxGrant(s))
            .flatMap(actionsOf)
            .filter((a) => a.startsWith('dynamodb:')),
        ).toEqual([]);
        return;
      }
      // The table itself, never its indexes or streams.
      for (const s of statements) expect(s.Resource).toEqual({ 'Fn::GetAtt': [tableLogicalId(), 'Arn'] });
      const reads = statements.filter((s) => !s.Condition).flatMap(actionsOf);
      expect(reads).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:BatchGetItem']));
      const unconditionedWrites = statements
        .filter((s) => !s.Condition)
        .flatMap(actionsOf)
        .filter((a) => WRITE_ACTIONS.test(a));
      const conditionedWrites = statements.filter((s) => s.Condition).flatMap(actionsOf);
      if (spec.tableAccess === 'read') {
        expect(unconditionedWrites).toEqual([]);
        expect(conditionedWrites).toEqual([]);
      } else if (spec.tableAccess === 'read-datafile') {
        expect(unconditionedWrites).toEqual([]);
        expect(conditionedWrites).toEqual(expect.arrayContaining(['dynamodb:PutItem']));
        for (const s of statements.filter((st) => st.Condition)) {
          expect(s.Condition).toEqual({
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${DATAFILE_KEY_PREFIX}*`] },
          });
        }
      } else {
        expect(unconditionedWrites).toEqual(
          expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem']),
        );
      }
      // Never a wildcard action, never any other table or index.
      expect(statements.flatMap(actionsOf).some((a) => a.includes('*'))).toBe(false);
    });

    it(`reaches the event outbox's items ${spec.outbox ? 'and nothing else through that grant' : 'not at all'}`, () => {
      const grants = statementsOf(name).filter(isOutboxGrant);
      if (!spec.outbox) {
        expect(grants).toEqual([]);
        return;
      }
      expect(grants).toHaveLength(1);
      expect(grants[0]).toMatchObject({
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [tableLogicalId(), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${OUTBOX_KEY_PREFIX}*`] } },
      });
      expect(actionsOf(grants[0]!).sort()).toEqual([...OUTBOX_ACTIONS[spec.outbox]].sort());
    });

    it(`reads the secret only when it lists secrets (${spec.secrets.length})`, () => {
      const secretActions = statementsOf(name).flatMap(actionsOf).filter(isSecretAction);
      const variables = (
        template.findResources('AWS::Lambda::Function')[functionLogicalId(name)] as {
          Properties: { Environment: { Variables: Record<string, unknown> } };
        }
      ).Properties.Environment.Variables;
      if (spec.secrets.length === 0) {
        expect(secretActions).toEqual([]);
        expect(variables.SECRETS_ARN).toBeUndefined();
      } else {
        expect(secretActions).toContain('secretsmanager:GetSecretValue');
        expect(variables.SECRETS_ARN).toBeDefined();
      }
    });
  });

  it('runs each scheduled function on an EventBridge schedule, and routes none of them', () => {
    const scheduled = specs.filter(([, spec]) => spec.scheduleMinutes !== undefined);
    expect(scheduled.map(([name]) => name)).toEqual(['redelivery']);
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

  it('never puts a secret value in the template', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/SEGMENT_SHARED_SECRET|API_KEYS|OPTIMIZELY_WEBHOOK_SECRET/);
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map(
      (v) =>
        `${v.ruleName} (${v.severity}) at ${v.violatingResources.map((r) => r.constructPath ?? r.resourceLogicalId).join(', ')}`,
    );
    expect(findings).toEqual([]);
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
      if (ack.id.includes('IAM5')) expect(ack.id).toMatch(/IAM5\[Resource::\*\]$/);
    }
  });
});
