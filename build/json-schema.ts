/**
 * Bundled in place of `json-schema` (an esbuild alias set by the function construct,
 * lib/constructs/crosswalk-function.ts). The Optimizely SDK imports its validator only to check the
 * answers of ODP's segment API, and Crosswalk runs no ODP manager (docs/agent-compatibility.md), so
 * the validator (about 4 KB of the decide bundle) is never called. Tests, `npm start` and the bench
 * run unbundled code with the real package.
 */
export function validate(): never {
  throw new Error('json-schema is not bundled: Crosswalk runs no ODP manager');
}
