/** Lambda entry of the redelivery function: dependencies built once per container, at init. */
import { loadConfig } from '../../src/platform/config/env';
import { redeliveryDependencies } from './dependencies';
import { createRedeliveryHandler } from './handler';

export const handler = createRedeliveryHandler(redeliveryDependencies(loadConfig()));
