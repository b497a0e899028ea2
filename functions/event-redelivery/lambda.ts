/** Lambda entry of the redelivery function (schedule and stream triggers): dependencies built once per container, at init. */
import { loadConfig } from '../../src/platform/config/env';
import { redeliveryDependencies } from './dependencies';
import { createRedeliveryFunctionHandler } from './handler';

export const handler = createRedeliveryFunctionHandler(redeliveryDependencies(loadConfig()));
