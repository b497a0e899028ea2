/**
 * The decision the Optimizely SDK is running, as its callbacks see it: the event dispatcher
 * (event-dispatcher.ts) adds what the SDK dispatches to it, and the user profile service
 * (agent/profiles.ts) answers and updates the profile loaded for it. The SDK calls both from
 * inside `decide`/`track`, synchronously, except for a flag with a CMAB rule, whose decision goes on
 * after its prediction is awaited; such a decision rides in the request's scope
 * (platform/core/request-scope.ts), the one ambient state a request has, and still finds its own
 * after other requests ran. Any other is held for the synchronous while it runs.
 */
import { type EventBatch, mergeBatches } from '../events/event-batch';
import { isPromise, type MaybePromise, thenMaybe } from '../platform/core/maybe-promise';
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
 * The decision running synchronously, if any. A decision that cannot await (no flag with a CMAB rule)
 * runs from start to end without yielding, so no other request's code runs meanwhile: its scope is
 * held here for that while, which costs no context switch. One that may await rides in the request's
 * scope instead, and finds its own after other requests ran.
 */
let synchronous: DecisionScope | undefined;

/**
 * Runs `fn` (the SDK call) as one decision with `profile`, and returns what it dispatched and saved.
 * `mayAwait`: whether `fn` may answer a promise (a flag with a CMAB rule); one that does without
 * saying so fails, as its events would be lost. Synchronous for a synchronous decision.
 */
export function runDecision<T>(
  profile: DecisionProfile | null,
  fn: () => MaybePromise<T>,
  mayAwait: boolean,
): MaybePromise<Decided<T>> {
  const scope: DecisionScope = { events: [], profile };
  const result = mayAwait ? inRequestScope(scope, fn) : held(scope, fn);
  return thenMaybe(result, (value) => ({
    result: value,
    batches: scope.events.length === 0 ? scope.events : mergeBatches(scope.events),
    saved: profile?.saved ?? null,
  }));
}

function held<T>(scope: DecisionScope, fn: () => MaybePromise<T>): T {
  const outer = synchronous;
  synchronous = scope;
  try {
    const result = fn();
    if (isPromise(result)) {
      result.catch(() => undefined);
      throw new Error('A decision run as synchronous awaited: its events and saved profile would be lost');
    }
    return result;
  } finally {
    synchronous = outer;
  }
}

function inRequestScope<T>(scope: DecisionScope, fn: () => T): T {
  const outer = synchronous;
  synchronous = undefined;
  try {
    return withinScope({ decision: scope }, fn);
  } finally {
    synchronous = outer;
  }
}

/** The decision running in this part of the request, if any. */
export function currentDecision(): DecisionScope | undefined {
  return synchronous ?? requestScope().decision;
}

/** Runs part of the running decision without its profile (its events are still the decision's). */
export function withoutProfile<T>(fn: () => T): T {
  const running = currentDecision();
  const scope: DecisionScope = { events: running?.events ?? [], profile: null };
  return synchronous ? held(scope, fn) : inRequestScope(scope, fn);
}
