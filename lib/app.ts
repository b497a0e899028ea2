/**
 * CDK app entry (`cdk synth`/`cdk deploy` run it with tsx). Env-agnostic unless the CLI supplies an
 * account and region, so synth needs no credentials and makes no lookups. cdk-nag's AwsSolutions
 * checks run on every synth as a validation plugin; an unacknowledged finding fails it.
 */
import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CrosswalkStack } from './crosswalk-stack';
import { readSettings } from './settings';

const app = new App();
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'Crosswalk';

new CrosswalkStack(app, stackName, {
  stackName,
  description: 'Crosswalk: Segment identity cache in DynamoDB and Optimizely decisions behind API Gateway',
  ...(account && region ? { env: { account, region } } : {}),
  settings: readSettings(app.node),
  projectRoot: resolve(import.meta.dirname, '..'),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
