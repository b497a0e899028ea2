/**
 * Lambda entry of the decide function: dependencies built once per container, at init. The event
 * flush runs after each answer in an internal extension (docs/events.md), which Lambda accepts only
 * during init: hence the top-level await, before the runtime asks for its first invocation.
 */
import { loadConfig } from '../../src/platform/config/env';
import { decideDependencies } from './dependencies';
import { createDecideHandler } from './handler';

const dependencies = decideDependencies(loadConfig(), {}, { runtimeApi: process.env.AWS_LAMBDA_RUNTIME_API });
await dependencies.afterResponse.ready;

export const handler = createDecideHandler(dependencies);
/** For whoever plays the runtime outside Lambda (the local server drains it after answering). */
export const afterResponse = dependencies.afterResponse;
