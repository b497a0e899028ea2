/** Lambda entry of the console function: its files are prepared once per container, at init. */
import { loadConfig } from '../../src/platform/config/env';
import { observabilityFor } from '../from-config';
import { createConsoleHandler } from './handler';

export const handler = createConsoleHandler({ observability: observabilityFor(loadConfig()) });
