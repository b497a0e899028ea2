/**
 * The one ambient state of a request: an object carried with the request's async context in a single
 * AsyncLocalStorage, so code deep in a store adapter, the logger or an Optimizely SDK callback can
 * read what belongs to the request it runs for without every layer passing it along. Concurrent
 * requests of the local server, and concurrent operations of one batch, each see their own.
 *
 * The modules that own a part declare it here by augmenting `RequestScope` (TypeScript declaration
 * merging), so this module imports none of them: the log context (observability/logger.ts), the
 * decision the Optimizely SDK is running (optimizely/decision-scope.ts). The deadline is core's own.
 * The HTTP wrapper enters the scope once per request with everything it knows; a part that narrows
 * for a while (a tighter deadline, a decision) enters a copy with that part replaced.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestScope {
  /** Epoch ms by which the request's outbound calls give up (deadline.ts). */
  readonly deadline?: number;
}

const storage = new AsyncLocalStorage<RequestScope>();

/** The scope of the running request; an empty one outside any. */
export function requestScope(): RequestScope {
  return storage.getStore() ?? NONE;
}

const NONE: RequestScope = Object.freeze({});

/** Runs `fn(...args)` in the current scope with `parts` replaced (one context switch, however many parts). */
export function withinScope<A extends unknown[], T>(
  parts: RequestScope,
  fn: (...args: A) => T,
  ...args: A
): T {
  const current = storage.getStore();
  return storage.run(current === undefined ? parts : { ...current, ...parts }, fn, ...args);
}

/** Runs `fn` outside any request's scope: work shared by several requests (a grouped write) is none's. */
export function outsideScope<T>(fn: () => T): T {
  return storage.exit(fn);
}
