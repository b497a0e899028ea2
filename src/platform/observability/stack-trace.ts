/**
 * Source-mapped stack traces for logged errors, resolved only when an error is logged. Node's
 * `--enable-source-maps` would parse every bundle's map at start (about 20 ms of each cold start,
 * measured by `npm run bench`) for traces most invocations never print; here a frame in a file that
 * has a `.map` beside it is mapped through `module.SourceMap`, read once per file on first use.
 * Frames of files without a map (unbundled code in tests and `npm start`) are left as they are.
 */
import type { SourceMap } from 'node:module';

const maps = new Map<string, SourceMap | null>();

function mapFor(file: string): SourceMap | null {
  let map = maps.get(file);
  if (map === undefined) {
    map = null;
    try {
      const { readFileSync } = process.getBuiltinModule('node:fs');
      const { SourceMap: SourceMapClass } = process.getBuiltinModule('node:module');
      map = new SourceMapClass(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
    } catch {
      // No map beside the file, or not a usable one: keep the generated positions.
    }
    maps.set(file, map);
  }
  return map;
}

const FRAME = /(file:\/\/)?(\/[^\s()]+?\.[cm]?js):(\d+):(\d+)/g;

/** The stack with every frame of a source-mapped file replaced by its original file, line and column. */
export function sourceMappedStack(stack: string): string {
  return stack.replace(
    FRAME,
    (frame, fileUrl: string | undefined, path: string, line: string, column: string) => {
      const file = fileUrl ? decodeURIComponent(path) : path;
      const map = mapFor(file);
      if (!map) return frame;
      const origin = map.findOrigin(Number(line), Number(column));
      if (!('fileName' in origin)) return frame;
      return `${origin.fileName}:${origin.lineNumber}:${origin.columnNumber}`;
    },
  );
}
