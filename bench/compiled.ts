/**
 * Runs a bench script compiled as the stack compiles a function (lib/constructs/crosswalk-function.ts:
 * esbuild, ESM, target node24, minified, no `keepNames`), not through tsx. tsx compiles with
 * `keepNames`, which wraps every named function in a `__name(…)` call each time it is created: on
 * the warm decide that was about 7 % of the time, charged to the harness rather than to production.
 * Crosswalk's own code (and the bench's, floors included) is bundled; packages stay external, run
 * from node_modules as published (the bundles' substitutes, build/, change what a cold start loads,
 * not the warm path, and are measured by the cold-start section on the synthesized bundles).
 *
 *   tsx bench/compiled.ts bench/run.ts          what `npm run bench` does
 *   tsx bench/compiled.ts bench/profile-decide.ts
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin, transform } from 'esbuild';

const repoRoot = resolve(import.meta.dirname, '..');
// Inside the repository, so the external packages resolve from its node_modules.
const outdir = join(repoRoot, 'node_modules', '.cache', 'crosswalk-bench');

/**
 * One bundle has one `import.meta`: each file's own directory, name and URL are written in as
 * constants, so `resolve(import.meta.dirname, '..')` still finds what it found unbundled.
 */
const ownImportMeta: Plugin = {
  name: 'own-import-meta',
  setup(context) {
    context.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (args.path.includes('/node_modules/') || !source.includes('import.meta')) return undefined;
      // esbuild's own `define` replaces code, never the text of a string that mentions import.meta.
      const { code } = await transform(source, {
        loader: 'ts',
        sourcefile: args.path,
        define: {
          'import.meta.dirname': JSON.stringify(dirname(args.path)),
          'import.meta.filename': JSON.stringify(args.path),
          'import.meta.url': JSON.stringify(pathToFileURL(args.path).href),
        },
      });
      return { contents: code, loader: 'js' };
    });
  },
};

/** Bundles `entry` (a path from the repository root) and returns the output file. */
export async function compileBench(entry: string): Promise<string> {
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, `${basename(entry, '.ts')}.mjs`);
  await build({
    entryPoints: [resolve(repoRoot, entry)],
    outfile,
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    target: 'node24',
    mainFields: ['module', 'main'],
    minify: true,
    // The stack's default; stated because tsx's is the opposite.
    keepNames: false,
    // For bench/profile-decide.ts, which places profiled frames in the sources with it.
    sourcemap: true,
    sourcesContent: false,
    absWorkingDir: repoRoot,
    plugins: [ownImportMeta],
    logLevel: 'warning',
  });
  return outfile;
}

async function main(): Promise<void> {
  const [entry, ...args] = process.argv.slice(2);
  if (!entry) throw new Error('usage: tsx bench/compiled.ts <bench script.ts> [args…]');
  const outfile = await compileBench(entry);
  const child = spawn(process.execPath, [outfile, ...args], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  // Ctrl-C reaches the child through the terminal; wait for it either way.
  process.on('SIGINT', () => undefined);
  const code = await new Promise<number>((done) =>
    child.once('exit', (c, signal) => done(c ?? (signal ? 1 : 0))),
  );
  process.exit(code);
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) await main();
