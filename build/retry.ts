/**
 * Bundled in place of `@smithy/core/retry` in every function without S3 (an esbuild alias set by
 * the function construct, lib/constructs/crosswalk-function.ts): the original module, except that the
 * client's retry settings no longer reach its adaptive mode (a client-side rate limiter that delays
 * requests after throttling, about 3.3 KB per bundle). The default, `standard` (what the functions
 * run: 3 attempts, src/platform/dynamodb/client.ts), is the original's; `AWS_RETRY_MODE=adaptive`, or
 * the `retryMode` option, fails each request with an error saying so instead of silently retrying
 * differently. Tested bundled (test/unit/infrastructure/bundle-substitutes.test.ts).
 */
// @ts-expect-error -- the package's own ES build, by path (its name is aliased here); it has no declarations beside it
import * as original from '../node_modules/@smithy/core/dist-es/submodules/retry/index.js';

// @ts-expect-error -- as above
export * from '../node_modules/@smithy/core/dist-es/submodules/retry/index.js';

import type { Provider, RetryStrategyV2 } from '@smithy/types';

type Settings = {
  maxAttempts?: number | Provider<number>;
  retryMode?: string | Provider<string>;
  retryStrategy?: RetryStrategyV2;
};

const provider = <T>(value: T | Provider<T>): Provider<T> =>
  typeof value === 'function' ? (value as Provider<T>) : () => Promise.resolve(value);

const notBundled = (): Error =>
  new Error('adaptive retry mode is not bundled (build/retry.ts): use AWS_RETRY_MODE=standard');

/** Not bundled: building one fails. */
export class AdaptiveRetryStrategy {
  constructor() {
    throw notBundled();
  }
}

/** As the original's, with the standard strategy only. */
export const resolveRetryConfig = <T extends Settings>(
  input: T,
  defaults?: { defaultMaxAttempts?: number; defaultBaseDelay?: number },
): T & { maxAttempts: Provider<number>; retryStrategy: () => Promise<RetryStrategyV2> } => {
  const { retryStrategy, retryMode } = input;
  const maxAttempts = provider(
    input.maxAttempts ?? defaults?.defaultMaxAttempts ?? original.DEFAULT_MAX_ATTEMPTS,
  );
  const baseDelay = defaults?.defaultBaseDelay ?? original.Retry.delay();
  let strategy: Promise<RetryStrategyV2> | undefined = retryStrategy
    ? Promise.resolve(retryStrategy)
    : undefined;
  const standard = async (): Promise<RetryStrategyV2> => {
    const attempts = await maxAttempts();
    if ((await provider(retryMode)()) === original.RETRY_MODES.ADAPTIVE) throw notBundled();
    return new original.StandardRetryStrategy({ maxAttempts: attempts, baseDelay });
  };
  return Object.assign(input, { maxAttempts, retryStrategy: () => (strategy ??= standard()) });
};
