/** The container's logs and metrics as the configuration sets them (LOG_LEVEL, CROSSWALK_METRICS). */
import type { Config } from '../config/env';
import { createObservability, type Observability } from './logger';

export function observabilityFor(config: Pick<Config, 'LOG_LEVEL' | 'CROSSWALK_METRICS'>): Observability {
  return createObservability({ level: config.LOG_LEVEL, metrics: config.CROSSWALK_METRICS });
}
