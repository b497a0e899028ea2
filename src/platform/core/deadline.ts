/**
 * The time by which the work of one request must be done, carried in the request's scope
 * (request-scope.ts), so an outbound call deep in a store adapter or the event sender can give up in
 * time without every layer passing a deadline along. The HTTP wrapper sets it from Lambda's
 * remaining time; a step with a tighter budget of its own (decide's identity read) nests a shorter
 * one. Work deferred past the answer keeps the deadline of the request that deferred it, which is
 * also when Lambda ends the invocation. Outside any scope there is no deadline.
 */
import { requestScope, withinScope } from './request-scope';

/** Runs `fn` with a deadline (epoch ms); an enclosing earlier deadline still applies. */
export function withDeadline<T>(at: number, fn: () => T): T {
  const outer = requestScope().deadline;
  return withinScope({ deadline: outer === undefined ? at : Math.min(outer, at) }, fn);
}

/** The deadline of the current scope (epoch ms), if any. */
export function currentDeadline(): number | undefined {
  return requestScope().deadline;
}

/** Milliseconds left before the current deadline less `reserveMs` (never below 0); undefined without one. */
export function timeLeft(reserveMs = 0): number | undefined {
  const at = requestScope().deadline;
  return at === undefined ? undefined : Math.max(0, at - reserveMs - Date.now());
}

/**
 * Rejects with `onExpiry()` when the current deadline passes before `work` settles; without a
 * deadline, `work` itself. The work is not cancelled (its outcome is ignored once the deadline has
 * passed), so it must be bounded on its own, as the SDK clients' timeouts bound theirs.
 */
export function beforeDeadline<T>(work: Promise<T>, onExpiry: () => Error): Promise<T> {
  const left = timeLeft();
  if (left === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onExpiry()), left);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
