/** Lambda entry of the health function: dependencies built once per container, at init. */
import { loadConfig } from '../../src/platform/config/env';
import { createObservability } from '../../src/platform/observability/logger';
import { createHealthHandler } from './handler';

export const handler = createHealthHandler(dependencies());

// Not from-config.ts's observabilityFor: importing that module would bundle the other functions'
// wiring into the smallest bundles.
function dependencies() {
  const { LOG_LEVEL, CROSSWALK_METRICS } = loadConfig();
  return { observability: createObservability({ level: LOG_LEVEL, metrics: CROSSWALK_METRICS }) };
}
