/**
 * Bundled in place of the `uuid` package (an esbuild alias set by the function construct,
 * lib/constructs/crosswalk-function.ts), of which the Optimizely SDK calls `v4()` only (event and
 * CMAB ids), without arguments: the package then answers `crypto.randomUUID()` itself, so this does
 * just that, without the package's fallback generator (about 0.8 KB per bundle). Any other name
 * imported from here fails `cdk synth` (esbuild: no matching export).
 */
import { randomUUID } from 'node:crypto';

/** A random (version 4) UUID, as `uuid`'s `v4()` without options. */
export function v4(options?: unknown): string {
  if (options !== undefined) throw new Error('uuid v4 with options is not bundled (build/uuid.ts)');
  return randomUUID();
}
