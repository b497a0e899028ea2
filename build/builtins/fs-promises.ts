/**
 * `node:fs/promises` loaded at its first use (see README.md here): loading it also loads readline
 * and the REPL's history module, and only the SDK's shared-config reader uses it, on the first request.
 */
import type * as FsPromises from 'node:fs/promises';

const fsPromises = (): typeof FsPromises => process.getBuiltinModule('node:fs/promises');

function lazy<K extends keyof typeof FsPromises>(name: K): (typeof FsPromises)[K] {
  return ((...args: unknown[]) =>
    (fsPromises()[name] as (...a: unknown[]) => unknown)(...args)) as (typeof FsPromises)[K];
}

export const access = lazy('access');
export const mkdir = lazy('mkdir');
export const readFile = lazy('readFile');
export const readdir = lazy('readdir');
export const rm = lazy('rm');
export const stat = lazy('stat');
export const writeFile = lazy('writeFile');
