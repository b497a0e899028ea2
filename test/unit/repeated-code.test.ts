/**
 * One home per piece of logic: no run of code is repeated to the letter across the deployables
 * (functions/), the library (src/), the scripts and the test support code. What repeats there must
 * move into one module that both places import.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { codeLines, repeatedRuns, sourceFiles } from '../support/repeated-code';

const root = resolve(import.meta.dirname, '..', '..');
/** Shared lines that make a repeated run: the library's `duplicates` command counts from six too. */
const MIN_LINES = 6;

/** Known and owned by work in flight; each entry names both places. Remove an entry once it is folded. */
const KNOWN = new Set<string>([]);

describe('repeated code', () => {
  it('passes over comments, imports, blank lines and lone punctuation', () => {
    const text = [
      'import {',
      '  a,',
      "} from './a';",
      '/**',
      ' * const x = 1;',
      ' */',
      '// const y = 2;',
      'const z  =  3;',
      '',
      '});',
    ].join('\n');
    expect(codeLines(text)).toEqual([{ text: 'const z = 3;', line: 8 }]);
  });

  it('finds a run that two files share, whatever its indentation, and reports it once', () => {
    const body = [
      'const a = load(x);',
      'if (!a) return;',
      'const b = a.items;',
      'for (const i of b) {',
      'total += i.n;',
      '}',
      'save(total);',
      'return total;',
    ];
    const files = new Map([
      ['one.ts', ['function one() {', ...body, '}'].join('\n')],
      ['two.ts', ['class Two {', '  run() {', ...body.map((l) => `    ${l}`), '  }', '}'].join('\n')],
    ]);
    expect(repeatedRuns(files, MIN_LINES)).toEqual([
      { first: 'one.ts:2-9', second: 'two.ts:3-10', lines: 7 },
    ]);
  });

  it('finds none across functions/, src/, scripts/ and test/support/', () => {
    const files = sourceFiles(root, ['functions', 'src', 'scripts', 'test/support']);
    expect(files.size).toBeGreaterThan(150);
    const repeated = repeatedRuns(files, MIN_LINES)
      .filter((run) => !KNOWN.has(`${run.first.split(':')[0]} ~ ${run.second.split(':')[0]}`))
      .map((run) => `${run.first} ~ ${run.second} (${run.lines} lines)`);
    expect(repeated).toEqual([]);
  });
});
