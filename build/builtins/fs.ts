/** `node:fs` without an ES module facade (see README.md here): its stream getters load fs streams. */
import type { ReadStream as FsReadStream } from 'node:fs';

const fs = process.getBuiltinModule('node:fs');

export const { existsSync, fstatSync, lstatSync, readFileSync, statSync, createReadStream } = fs;
/** Only `instanceof` is used by the bundled SDK; answered without touching the lazy getter until then. */
export const ReadStream = {
  [Symbol.hasInstance]: (value: unknown) => value instanceof fs.ReadStream,
} as unknown as typeof FsReadStream;
export default fs;
