/**
 * Decide fails open: the reads it makes before deciding (the identity cache, Agent's overrides and
 * saved profile) each have a time budget (DECIDE_READ_TIMEOUT_MS), and a read that fails with a
 * fault a retry could fix (DynamoDB down, throttling, a timeout) is done without instead of failing
 * the request. The person is then decided on the request's identifiers, as someone not known yet
 * would be (`identity.source: "unavailable"` for operator keys), without overrides or sticky
 * bucketing; every such read is logged and counted (DecideFailedOpen, and the fault's own metric).
 * Errors no retry would fix still fail the request. Writes keyed by the person (overrides, saved
 * profiles set by an operator) never fail open: deciding who the person is wrongly would write
 * another person's state.
 */
import { beforeDeadline, withDeadline } from '../platform/core/deadline';
import { DependencyUnavailableError, isTransient } from '../platform/core/errors';
import { countFault, FAILED_OPEN_METRIC } from '../platform/observability/faults';
import type { Observability } from '../platform/observability/logger';

export interface FailOpenPolicy {
  /** How long one read may take before decide goes on without it (DECIDE_READ_TIMEOUT_MS). */
  readTimeoutMs: number;
  observability: Observability;
}

export type ReadPart = 'identity' | 'overrides' | 'profile';

const WITHOUT: Record<ReadPart, string> = {
  identity: "decided on the request's identifiers: the identity cache could not be read",
  overrides: 'decided without forced variations: they could not be read',
  profile: 'decided without the saved profile (sticky bucketing), and none is saved: it could not be read',
};

export type ReadOutcome<T> = { ok: true; value: T } | { ok: false };

/**
 * Runs `read` within the budget; `{ok: false}` when it failed with a transient fault or ran out
 * of time. Without a policy, the read as it is (its errors are the caller's).
 */
export async function readOrFailOpen<T>(
  policy: FailOpenPolicy | undefined,
  part: ReadPart,
  read: () => Promise<T>,
): Promise<ReadOutcome<T>> {
  if (!policy) return { ok: true, value: await read() };
  try {
    return { ok: true, value: await withinBudget(policy, part, read) };
  } catch (error) {
    if (!isTransient(error)) throw error;
    failedOpen(policy, part, error);
    return { ok: false };
  }
}

/**
 * A write after the decision (the saved profile), within the same budget: a transient fault is
 * logged and counted, not answered 503 (the decision stands; the profile is saved next time).
 */
export async function writeOrFailOpen(
  policy: FailOpenPolicy | undefined,
  part: ReadPart,
  write: () => Promise<void>,
): Promise<void> {
  if (!policy) return write();
  try {
    await withinBudget(policy, part, write);
  } catch (error) {
    if (!isTransient(error)) throw error;
    failedOpen(policy, part, error, `the ${part} was not saved: the store could not be written`);
  }
}

/** Runs `work` with a deadline `readTimeoutMs` away (DynamoDB calls give up then), and stops waiting then. */
function withinBudget<T>(policy: FailOpenPolicy, part: ReadPart, work: () => Promise<T>): Promise<T> {
  return withDeadline(Date.now() + policy.readTimeoutMs, () =>
    beforeDeadline(
      work(),
      () =>
        new DependencyUnavailableError(`The ${part} call took longer than ${policy.readTimeoutMs} ms`, {
          cause: Object.assign(new Error('budget spent'), { name: 'TimeoutError' }),
        }),
    ),
  );
}

function failedOpen(policy: FailOpenPolicy, part: ReadPart, error: unknown, what = WITHOUT[part]): void {
  const { logger, metrics } = policy.observability;
  const fault = countFault(metrics, error);
  metrics.metric(FAILED_OPEN_METRIC, 1);
  logger.warn(`decide failed open: ${what}`, { part, fault, error });
}
