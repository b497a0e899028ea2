/** Logged errors from a bundle show the original file and line, resolved from the .map lazily. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { sourceMappedStack } from '../../src/platform/observability/stack-trace';

let dir: string;
let generatedFrame: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crosswalk-stack-'));
  writeFileSync(
    join(dir, 'thrower.ts'),
    ['// line 1', 'export function fail(): never {', "  throw new Error('boom');", '}', ''].join('\n'),
  );
  await build({
    entryPoints: [join(dir, 'thrower.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    sourcemap: true,
    outfile: join(dir, 'index.mjs'),
    logLevel: 'silent',
  });
  // Jest source-maps real stacks itself, so the frame is built as V8 prints it for the bundle.
  const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
  const lines = code.split('\n');
  const line = lines.findIndex((l) => l.includes('new Error('));
  const column = (lines[line] as string).indexOf('new Error(') + 1;
  generatedFrame = `Error: boom\n    at fail (${pathToFileURL(join(dir, 'index.mjs')).href}:${line + 1}:${column})`;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sourceMappedStack', () => {
  it('maps a bundled frame back to the original file and line', () => {
    expect(generatedFrame).toMatch(/index\.mjs:1:\d+\)$/);
    const mapped = sourceMappedStack(generatedFrame);
    expect(mapped).toMatch(/thrower\.ts:3:\d+\)$/);
    expect(mapped).not.toContain('index.mjs');
  });

  it('leaves frames of files without a map as they are', () => {
    const stack = 'Error: x\n    at run (/var/task/no-map-here.js:10:5)';
    expect(sourceMappedStack(stack)).toBe(stack);
  });
});
