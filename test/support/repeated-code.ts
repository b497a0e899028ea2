/**
 * Runs of code repeated to the letter: the same `minLines` lines or more, in two places. Lines are
 * compared as the code reads, with white space folded; blank lines, comments, import lines and
 * lines of punctuation alone are passed over (they repeat without meaning anything). Same-shape code
 * with other names is not found here; the library's `duplicates` command shows that too.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tsFilesUnder } from './import-graph';

export interface RepeatedRun {
  /** `path:first-last` of each place (1-based lines of the file). */
  first: string;
  second: string;
  lines: number;
}

interface CodeLine {
  text: string;
  line: number;
}

const PUNCTUATION_ONLY = /^[\s{}()[\];,.:?<>=|&!`'"+-]*$/;

/** The lines that count, with their line numbers. */
export function codeLines(text: string): CodeLine[] {
  const out: CodeLine[] = [];
  let inComment = false;
  let inImport = false;
  text.split('\n').forEach((raw, index) => {
    let line = raw.trim();
    if (inComment) {
      const end = line.indexOf('*/');
      if (end === -1) return;
      inComment = false;
      line = line.slice(end + 2).trim();
    }
    if (line.startsWith('/*')) {
      if (!line.includes('*/')) inComment = true;
      return;
    }
    if (inImport || /^(import|export)\b.*\bfrom\b|^import\s*['"]/.test(line) || /^import\b/.test(line)) {
      // An import (or re-export) ends with its module specifier.
      inImport = !/['"]\s*;?$/.test(line);
      return;
    }
    if (line.startsWith('//') || PUNCTUATION_ONLY.test(line)) return;
    out.push({ text: line.replace(/\s+/g, ' '), line: index + 1 });
  });
  return out;
}

/** Every run of `minLines` or more code lines that stands in two places among `files` (name → text). */
export function repeatedRuns(files: ReadonlyMap<string, string>, minLines: number): RepeatedRun[] {
  const lines = new Map([...files].map(([name, text]) => [name, codeLines(text)] as const));
  const windows = new Map<string, { file: string; at: number }[]>();
  for (const [file, code] of lines) {
    for (let at = 0; at + minLines <= code.length; at++) {
      const key = code
        .slice(at, at + minLines)
        .map((l) => l.text)
        .join('\n');
      const places = windows.get(key) ?? [];
      places.push({ file, at });
      windows.set(key, places);
    }
  }
  const matched = new Set<string>();
  const pairs: { a: { file: string; at: number }; b: { file: string; at: number } }[] = [];
  for (const places of windows.values()) {
    for (let i = 0; i < places.length; i++) {
      for (let j = i + 1; j < places.length; j++) {
        const a = places[i]!;
        const b = places[j]!;
        if (a.file === b.file && Math.abs(a.at - b.at) < minLines) continue; // a run overlapping itself
        matched.add(`${a.file}:${a.at}|${b.file}:${b.at}`);
        pairs.push({ a, b });
      }
    }
  }
  const runs: RepeatedRun[] = [];
  for (const { a, b } of pairs) {
    // Report each run once, from the first window of it.
    if (matched.has(`${a.file}:${a.at - 1}|${b.file}:${b.at - 1}`)) continue;
    let length = minLines;
    while (matched.has(`${a.file}:${a.at + length - minLines + 1}|${b.file}:${b.at + length - minLines + 1}`))
      length++;
    const place = (p: { file: string; at: number }) => {
      const code = lines.get(p.file)!;
      return `${p.file}:${code[p.at]!.line}-${code[p.at + length - 1]!.line}`;
    };
    runs.push({ first: place(a), second: place(b), lines: length });
  }
  return runs.sort((x, y) => y.lines - x.lines || x.first.localeCompare(y.first));
}

/** The `.ts` files below `folders` of `root` (generated ones left out), by path relative to `root`. */
export function sourceFiles(root: string, folders: readonly string[]): Map<string, string> {
  return new Map(
    folders
      .flatMap((folder) => tsFilesUnder(join(root, folder)))
      .filter((path) => !path.endsWith('.generated.ts'))
      .map((path) => [relative(root, path).split('\\').join('/'), readFileSync(path, 'utf8')] as const),
  );
}
