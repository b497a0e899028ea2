/** Lambda entry of the Segment webhook: dependencies built once per container, at init. */
import { loadConfig } from '../../src/platform/config/env';
import { segmentWebhookDependencies } from './dependencies';
import { createSegmentWebhookHandler } from './handler';

export const handler = createSegmentWebhookHandler(segmentWebhookDependencies(loadConfig()));
