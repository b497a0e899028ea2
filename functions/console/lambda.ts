/** Lambda entry of the console function: its files are prepared once per container, at init. */
import { loadConfig } from '../config/env';
import { observabilityFor } from '../observability/setup';
import { createConsoleHandler } from './handler';

export const handler = createConsoleHandler({ observability: observabilityFor(loadConfig()) });
