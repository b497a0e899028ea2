/**
 * A function that serves several routes dispatches on the operation the route table names for the
 * request's route (src/platform/routes.ts), so a route added to the table without an operation behind
 * it fails when the handler is built, not on a request. `A` is what the handler hands each
 * operation besides the event (the Lambda context, or the authenticated caller).
 */
import { NotFoundError } from '../core/errors';
import { type FunctionName, routeKey, routes } from '../routes';
import type { HttpEvent, HttpResult } from './api-gateway';

export type Operation<A> = (event: HttpEvent, arg: A) => Promise<HttpResult>;

export function routeOperations<A>(fn: FunctionName, operations: Record<string, Operation<A>>): Operation<A> {
  const byRoute = new Map<string, Operation<A>>();
  for (const route of routes) {
    if (route.function !== fn) continue;
    const operation = operations[route.operation];
    if (!operation) throw new Error(`No operation ${route.operation} for route ${routeKey(route)}`);
    byRoute.set(routeKey(route), operation);
  }
  const only = byRoute.size === 1 ? [...byRoute.values()][0] : undefined;
  return (event, arg) => {
    // A hand-written event for a one-route function may carry any routeKey (`$default`, none).
    const operation = only ?? byRoute.get(event.routeKey);
    if (!operation) throw new NotFoundError(`No route ${event.routeKey}`);
    return operation(event, arg);
  };
}
