/** Lambda entry of the backfill function: dependencies built once per container, at init. */
import { loadConfig } from '../../src/platform/config/env';
import { backfillDependencies } from './dependencies';
import { createBackfillHandler } from './handler';

export const handler = createBackfillHandler(backfillDependencies(loadConfig()));
