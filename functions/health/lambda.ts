/** Lambda entry of the health function: dependencies built once per container, at init. */
import { loadConfig } from '../../src/platform/config/env';
import { observabilityFor } from '../from-config';
import { createHealthHandler } from './handler';

export const handler = createHealthHandler({ observability: observabilityFor(loadConfig()) });
