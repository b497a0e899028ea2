/** Lambda entry of the Optimizely webhook: dependencies built once per container, at init. */
import { loadConfig } from '../../src/platform/config/env';
import { optimizelyWebhookDependencies } from './dependencies';
import { createOptimizelyWebhookHandler } from './handler';

export const handler = createOptimizelyWebhookHandler(optimizelyWebhookDependencies(loadConfig()));
