/**
 * Lambda entry of the decide function: dependencies built once per container, at init. The event
 * flush runs after each answer in an internal extension (docs/events.md), which Lambda accepts only
 * during init: hence the top-level await, before the runtime asks for its first invocation.
 */
import { loadConfig } from '../../src/platform/config/env';
import { agentApiDependencies } from './dependencies';
import { createAgentApiHandler } from './handler';

const dependencies = agentApiDependencies(
  loadConfig(),
  {},
  { runtimeApi: process.env.AWS_LAMBDA_RUNTIME_API },
);
await dependencies.afterResponse.ready;

export const handler = createAgentApiHandler(dependencies);
/** For whoever plays the runtime outside Lambda (the local server drains it after answering). */
export const afterResponse = dependencies.afterResponse;
