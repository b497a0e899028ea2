/**
 * The metrics of dependency faults (namespace Crosswalk), one place for every function: each 503
 * answered, and each read decide did without (it failed open), counts once under the kind of fault
 * behind it. docs/operations.md says what each means and what to do.
 */
import { type FaultKind, faultKind } from '../core/errors';
import type { Metrics } from './logger';

export const FAULT_METRICS: Record<FaultKind, string> = {
  throttled: 'DependencyThrottled',
  timeout: 'DependencyTimeouts',
  unavailable: 'DependencyUnavailable',
};

/** Decide answered without a read it would normally make (identity, overrides, saved profile). */
export const FAILED_OPEN_METRIC = 'DecideFailedOpen';

/** Counts `error` under its kind; returns the kind for the log line. */
export function countFault(metrics: Metrics, error: unknown): FaultKind {
  const kind = faultKind(error);
  metrics.metric(FAULT_METRICS[kind], 1);
  return kind;
}
