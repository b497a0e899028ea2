/**
 * Values that are synchronous unless they cannot be: a decision is made synchronously by the
 * Optimizely SDK, except for flags with a CMAB rule, which need a prediction over the network
 * (agent/decide.ts). The code around a decision (overrides, the profile service, event capture)
 * handles both without turning every decision into a promise, so the common one pays no await.
 */
export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return value instanceof Promise;
}

/** `fn(value)`, now when `value` is plain, once it resolves when it is a promise. */
export function thenMaybe<T, R>(value: MaybePromise<T>, fn: (value: T) => R): MaybePromise<R> {
  return isPromise(value) ? value.then(fn) : fn(value);
}

/** Runs `work`, then `cleanup` once its result is settled (at once for a plain result), whatever happens. */
export function finallyMaybe<T>(work: () => MaybePromise<T>, cleanup: () => void): MaybePromise<T> {
  let result: MaybePromise<T>;
  try {
    result = work();
  } catch (error) {
    cleanup();
    throw error;
  }
  if (isPromise(result)) return result.finally(cleanup);
  cleanup();
  return result;
}

/** Every item settled: a plain array when none was a promise. */
export function allMaybe<T>(items: readonly MaybePromise<T>[]): MaybePromise<T[]> {
  return items.some(isPromise) ? Promise.all(items) : (items as T[]);
}
