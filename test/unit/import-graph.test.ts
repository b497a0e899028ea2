/**
 * The shape of the tree, enforced: no import cycle anywhere in the repository's TypeScript, and the
 * library (src/) never reaches up into the deployables (functions/) or into the configuration
 * (src/platform/config/): entries read configuration and hand the library plain options.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { importCycles, importGraph, relativeImportsOf } from '../support/import-graph';

const root = resolve(import.meta.dirname, '..', '..');
const graph = importGraph(root, ['functions', 'src', 'build', 'lib', 'scripts', 'bench', 'test']);

describe('import graph', () => {
  it('reads every kind of relative import, type-only and dynamic ones included', () => {
    const text = [
      "import { a } from './a';",
      "import type { B } from '../b';",
      "export { c } from './c';",
      "export * from './d';",
      "import './e';",
      "const f = await import('./f');",
      "import { g } from 'package';",
      "/** import `* as z from './in-a-comment'` */",
      "// import { h } from './in-a-line-comment';",
    ].join('\n');
    expect(relativeImportsOf(text)).toEqual(['./a', '../b', './c', './d', './e', './f']);
  });

  it('finds a cycle through several modules, and a module importing itself', () => {
    const cycles = importCycles(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', ['a', 'd']],
        ['d', []],
        ['e', ['e']],
      ]),
    );
    expect(cycles).toEqual([['a', 'b', 'c'], ['e']]);
  });

  it('covers the repository', () => {
    expect(graph.size).toBeGreaterThan(250);
    expect(graph.get('functions/agent-api/lambda.ts')).toContain('functions/agent-api/handler.ts');
  });

  it('has no import cycle', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('keeps src/ free of functions/ and of the configuration', () => {
    const offending = [...graph]
      .filter(([from]) => from.startsWith('src/') && !from.startsWith('src/platform/config/'))
      .flatMap(([from, targets]) =>
        targets
          .filter((to) => to.startsWith('functions/') || to.startsWith('src/platform/config/'))
          .map((to) => `${from} → ${to}`),
      );
    expect(offending).toEqual([]);
  });
});
