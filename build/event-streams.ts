/**
 * Bundled in place of `@smithy/core/event-streams` (an esbuild alias set by the function construct,
 * lib/constructs/crosswalk-function.ts). The AWS SDK uses event streams only for operations that
 * stream (S3 SelectObjectContent, Bedrock, Transcribe…); DynamoDB has none, and the backfill's S3
 * client only gets and lists objects. About 15–19 KB less per bundle. A client is still built as
 * usual (S3's configuration asks for a marshaller at construction); should a streaming operation
 * ever be called, it fails loudly here instead of silently.
 */
function notBundled(): never {
  throw new Error('AWS event streams are not bundled (build/event-streams.ts)');
}

/** The HTTP protocol's serde for streaming operations: never constructed for the operations used. */
export class EventStreamSerde {
  constructor() {
    notBundled();
  }
}

/** A marshaller whose use fails: built with every S3 client, used by none of the calls made. */
export const eventStreamSerdeProvider = (): { serialize: () => never; deserialize: () => never } => ({
  serialize: notBundled,
  deserialize: notBundled,
});

/** As the SDK's: the client's configuration with its (here inert) marshaller. */
export const resolveEventStreamSerdeConfig = <T extends { eventStreamSerdeProvider: (input: T) => unknown }>(
  input: T,
): T & { eventStreamMarshaller: unknown } =>
  Object.assign(input, { eventStreamMarshaller: input.eventStreamSerdeProvider(input) });
