/**
 * Bundled in place of `@aws/lambda-invoke-store` (an esbuild alias set by the function construct,
 * lib/constructs/crosswalk-function.ts), about 2 KB less per bundle. The SDK asks it for the
 * invocation's X-Ray trace id and W3C trace context (its recursion-detection middleware, on every
 * request). In Lambda the runtime registers its own store as `globalThis.awslambda.InvokeStore`
 * before it loads the function, and fills it for each invocation; the package only builds a store of
 * its own when none is registered, and nothing fills that one, so it answers nothing. This answers
 * the runtime's store, read when asked, or none (also where the package's would be empty: outside
 * Lambda, or with AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA): the SDK then falls back to `_X_AMZN_TRACE_ID`.
 */

/** The part of the runtime's store the SDK reads. */
export interface InvocationStore {
  getXRayTraceId(): string | undefined;
  getTraceparent?(): string | undefined;
  getTracestate?(): string | undefined;
  getBaggage?(): string | undefined;
}

export const InvokeStore = {
  async getInstanceAsync(): Promise<InvocationStore | undefined> {
    if (['true', '1'].includes(process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA ?? '')) return undefined;
    return (globalThis as { awslambda?: { InvokeStore?: InvocationStore } }).awslambda?.InvokeStore;
  },
};
