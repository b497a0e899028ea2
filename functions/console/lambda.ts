/** Lambda entry of the console function: its files are prepared once per container, at init. */
import { loadConfig } from '../../src/platform/config/env';
import { createObservability } from '../../src/platform/observability/logger';
import { createConsoleHandler } from './handler';

export const handler = createConsoleHandler(dependencies());

// Not from-config.ts's observabilityFor: importing that module would bundle the other functions'
// wiring into the smallest bundles.
function dependencies() {
  const { LOG_LEVEL, CROSSWALK_METRICS } = loadConfig();
  return { observability: createObservability({ level: LOG_LEVEL, metrics: CROSSWALK_METRICS }) };
}
