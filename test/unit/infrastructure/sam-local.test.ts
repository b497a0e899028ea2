/**
 * `sam local invoke` cannot run here (no SAM CLI, no Docker), so its inputs are checked instead,
 * exactly as docs/local-invoke.md uses them: the synthesized template's logical IDs and asset
 * metadata (how SAM finds each function's code in a CDK template), the event files, and the
 * env-vars file, whose every variable must be declared on the function it targets (SAM's
 * --env-vars silently drops variables the template does not declare).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { functionLogicalId } from '../../../lib/constructs/crosswalk-function';
import { CrosswalkStack } from '../../../lib/crosswalk-stack';
import { readSettings } from '../../../lib/settings';
import { loadConfig } from '../../../src/platform/config/env';
import { type FunctionSpec, functionSpecs, routeKey, routes } from '../../../src/platform/routes';

const projectRoot = resolve(import.meta.dirname, '..', '..', '..');
const doc = readFileSync(resolve(projectRoot, 'docs', 'local-invoke.md'), 'utf8');
const invocations = [
  ...doc.matchAll(/sam local invoke -t cdk\.out\/(\S+)\.template\.json (\S+) -e (\S+) --env-vars (\S+)/g),
].map(([, stack = '', logicalId = '', event = '', envVars = '']) => ({ stack, logicalId, event, envVars }));

type Fn = {
  Properties: { Environment: { Variables: Record<string, unknown> } };
  Metadata?: Record<string, string>;
};
let functions: Record<string, Fn>;

beforeAll(() => {
  // As the CDK CLI synthesizes (asset metadata on), without bundling: only the template matters here.
  const app = new App({
    context: {
      'aws:cdk:bundling-stacks': [],
      'aws:cdk:enable-asset-metadata': true,
      OPTIMIZELY_SDK_KEYS: 'local-sample',
    },
  });
  const stack = new CrosswalkStack(app, 'Crosswalk', { settings: readSettings(app.node, {}), projectRoot });
  functions = Template.fromStack(stack).findResources('AWS::Lambda::Function') as Record<string, Fn>;
});

describe('sam local invoke, as docs/local-invoke.md runs it', () => {
  it('documents one invoke per function of the route table', () => {
    expect(invocations.map((i) => i.logicalId).sort()).toEqual(
      Object.keys(functionSpecs)
        .map((name) => functionLogicalId(name))
        .sort(),
    );
  });

  it.each(invocations)('$logicalId: the template has it, with the asset metadata SAM reads', (i) => {
    expect(i.stack).toBe('Crosswalk');
    const fn = functions[i.logicalId];
    expect(fn).toBeDefined();
    expect(fn!.Metadata).toMatchObject({
      'aws:asset:path': expect.any(String),
      'aws:asset:property': 'Code',
    });
  });

  it.each(invocations)(
    '$logicalId: $event is an event of what triggers it (a route, or its schedule)',
    (i) => {
      const event = JSON.parse(readFileSync(resolve(projectRoot, i.event), 'utf8')) as {
        routeKey?: string;
        version: string;
        source?: string;
        'detail-type'?: string;
      };
      const name = Object.keys(functionSpecs).find((n) => functionLogicalId(n) === i.logicalId)!;
      const spec = (functionSpecs as Record<string, FunctionSpec>)[name]!;
      if (spec.scheduleMinutes !== undefined) {
        expect(event).toMatchObject({ version: '0', source: 'aws.events', 'detail-type': 'Scheduled Event' });
        return;
      }
      if (spec.readsBackfillBucket) {
        // Invoked on demand with the prefix to read.
        expect(event.source).toMatch(/^s3:\/\//);
        return;
      }
      expect(event.version).toBe('2.0');
      const keys = routes.filter((r) => r.function === name).map(routeKey);
      expect(keys).toContain(event.routeKey);
    },
  );

  it.each(invocations)('$logicalId: every variable of $envVars is declared on it, and valid', (i) => {
    const envVars = JSON.parse(readFileSync(resolve(projectRoot, i.envVars), 'utf8')) as Record<
      string,
      Record<string, string>
    >;
    const wanted = { ...envVars.Parameters, ...envVars[i.logicalId] };
    const declared = functions[i.logicalId]!.Properties.Environment.Variables;
    for (const name of Object.keys(wanted))
      expect({ name, declared: name in declared }).toEqual({ name, declared: true });
    // What the function will see locally is a valid configuration that reads no AWS secret.
    const local = {
      ...Object.fromEntries(Object.entries(declared).filter(([, v]) => typeof v === 'string')),
      ...wanted,
    };
    const config = loadConfig(local as Record<string, string>);
    for (const arn of [
      'SEGMENT_SECRET_ARN',
      'API_KEYS_SECRET_ARN',
      'OPTIMIZELY_WEBHOOK_SECRET_ARN',
      'EXPERIMENT_ID_SECRET_ARN',
      'PROFILE_API_SECRET_ARN',
    ] as const) {
      expect(config[arn]).toBeUndefined();
    }
    expect(config.DYNAMODB_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });

  it('names files that exist', () => {
    for (const i of invocations) {
      expect(existsSync(resolve(projectRoot, i.event))).toBe(true);
      expect(existsSync(resolve(projectRoot, i.envVars))).toBe(true);
    }
  });
});
