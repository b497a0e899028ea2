/**
 * Bundled in place of `@smithy/core/event-streams` (an esbuild alias set by the function construct,
 * lib/constructs/crosswalk-function.ts). The AWS SDK's HTTP protocol imports it only for operations
 * with event streams (S3 SelectObjectContent, Bedrock, Transcribe…); DynamoDB, the only AWS client
 * the request paths bundle, has none. About 15 KB less per bundle. Should a future client call such
 * an operation, it fails loudly here instead of silently.
 */
function notBundled(): never {
  throw new Error('AWS event streams are not bundled (functions/bundling/event-streams.ts)');
}

export class EventStreamSerde {
  constructor() {
    notBundled();
  }
}

export const eventStreamSerdeProvider = (): never => notBundled();
