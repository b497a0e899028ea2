import type { AfterResponse } from '../../src/platform/lambda/after-response';

/**
 * The local server's crash simulation (`dropDeferredWork`): from now on, work a function defers past
 * its answer is dropped unrun, as if the process were killed right after answering.
 */
export function dropDeferredWork(afterResponse: AfterResponse): void {
  afterResponse.defer = () => undefined;
}
