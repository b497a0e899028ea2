/**
 * The decision the Optimizely SDK is running, as its callbacks see it: the event dispatcher
 * (event-dispatcher.ts) adds what the SDK dispatches to it, and the user profile service
 * (agent/agent-state.ts) answers and updates the profile loaded for it. The SDK calls both from
 * inside `decide`/`track`, synchronously, except for a flag with a CMAB rule, whose decision goes on
 * after its prediction is awaited; so the decision rides in the request's scope
 * (platform/core/request-scope.ts), the one ambient state a request has, and an awaited decision
 * still finds its own after other requests ran.
 */
import { type EventBatch, mergeBatches } from '../events/event-batch';
import { type MaybePromise, thenMaybe } from '../platform/core/maybe-promise';
import { requestScope, withinScope } from '../platform/core/request-scope';

/** Experiment id → variation, as the SDK's user profile holds it. */
export type BucketMap = Record<string, { variation_id: string }>;

/** The profile a decision runs with: what the user profile service answers for `userId`. */
export interface DecisionProfile {
  readonly userId: string;
  buckets: BucketMap;
  /** What the SDK asked to save (the whole profile after its change); null while it saved nothing. */
  saved: BucketMap | null;
}

export interface DecisionScope {
  /** Event payloads the SDK dispatched during the decision. */
  readonly events: EventBatch[];
  /** The profile the decision uses; null: none (the service off or ignored, or a part that bypasses it). */
  readonly profile: DecisionProfile | null;
}

declare module '../platform/core/request-scope' {
  interface RequestScope {
    /** The Optimizely decision running in this part of the request. */
    readonly decision?: DecisionScope;
  }
}

/** What a decision produced besides its result: its events merged per project, and the profile to store. */
export interface Decided<T> {
  result: T;
  batches: EventBatch[];
  saved: BucketMap | null;
}

/**
 * Runs `fn` (the SDK call) as one decision with `profile`, and returns what it dispatched and saved.
 * Synchronous for a synchronous decision: one scope entered, no await.
 */
export function runDecision<T>(
  profile: DecisionProfile | null,
  fn: () => MaybePromise<T>,
): MaybePromise<Decided<T>> {
  const scope: DecisionScope = { events: [], profile };
  return thenMaybe(withinScope({ decision: scope }, fn), (result) => ({
    result,
    batches: scope.events.length === 0 ? scope.events : mergeBatches(scope.events),
    saved: profile?.saved ?? null,
  }));
}

/** The decision running in this part of the request, if any. */
export function currentDecision(): DecisionScope | undefined {
  return requestScope().decision;
}

/** Runs part of the running decision without its profile (its events are still the decision's). */
export function withoutProfile<T>(fn: () => T): T {
  const running = currentDecision();
  return withinScope({ decision: { events: running?.events ?? [], profile: null } }, fn);
}
