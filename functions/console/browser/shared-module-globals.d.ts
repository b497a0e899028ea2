/**
 * The console imports src/identity/identifiers.ts for `normalizeIdentifier` (one
 * normalisation for the whole program, no browser copy). That module also holds
 * `identifierValueProblem`, which counts UTF-8 bytes with Node's Buffer; the bundle leaves it out
 * (the console never calls it), and test/unit/console.test.ts checks that no `Buffer` reaches the
 * browser. This declares only what the type check of that module needs, nothing the console may use.
 */
declare const Buffer: { byteLength(value: string, encoding: 'utf8'): number };
