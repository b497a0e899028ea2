/**
 * Bundled in place of `@aws-sdk/credential-provider-node` (an esbuild alias set by the function
 * construct, lib/constructs/crosswalk-function.ts). Lambda always puts the execution role's
 * credentials in the environment, so the default chain's other sources (SSO, ini files, process,
 * web identity, container and instance metadata, with their nested STS/SSO clients) are never
 * used there, yet add about 100 KB to every bundle and to every cold start's parse.
 * Tests, `npm start` and the bench run unbundled code and keep the full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}): ReturnType<typeof fromEnv> =>
  fromEnv(init);
