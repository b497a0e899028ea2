/**
 * Headers that belong on every answer of a function, error answers included: those are built by the
 * error table inside `httpHandler`, after the operation has thrown, so the operation cannot add them
 * itself. Used for `cache-control: no-store` on personal data and the console's security headers.
 */
import type { LambdaHttpHandler } from './http-handler';

export function withResponseHeaders(
  handler: LambdaHttpHandler,
  headers: Readonly<Record<string, string>>,
): LambdaHttpHandler {
  return async (event, context) => {
    const result = await handler(event, context);
    return { ...result, headers: { ...result.headers, ...headers } };
  };
}
