/** Lambda entry of the console function: its files are prepared once per container, at init. */
import { loadConfig } from '../../src/platform/config/env';
import { observabilityFor } from '../../src/platform/observability/setup';
import { createConsoleHandler } from './handler';

export const handler = createConsoleHandler({ observability: observabilityFor(loadConfig()) });
