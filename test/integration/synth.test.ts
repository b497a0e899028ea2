/**
 * `npm run synth` as the README gives it, on a clone with nothing configured: it must work offline
 * (bundling every function with the local esbuild), warn that the template is an example, and leave a
 * template that CloudFormation refuses to deploy (the stack test checks the guard's shape).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const outputs: string[] = [];

afterAll(async () => {
  await Promise.all(outputs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: repoRoot, env });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c;
    });
    child.on('close', (code) => done({ code, output }));
  });
}

describe('npm run synth', () => {
  it('synthesizes offline in an empty environment, warning that the template is an example', async () => {
    const out = await mkdtemp(join(tmpdir(), 'crosswalk-synth-'));
    outputs.push(out);
    // No variable of the developer's (no OPTIMIZELY_SDK_KEYS, no AWS credentials or region).
    const { code, output } = await run('npm', ['run', 'synth', '--', '-o', out], {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
    });
    expect(output).toMatch(
      /OPTIMIZELY_SDK_KEYS is not set, so this template uses an example SDK key and cannot be deployed/,
    );
    expect(code).toBe(0);
    const template = JSON.parse(await readFile(join(out, 'Crosswalk.template.json'), 'utf8')) as {
      Parameters: Record<string, unknown>;
      Rules: Record<string, unknown>;
    };
    expect(template.Parameters).toHaveProperty('ExampleSettingsNotDeployable');
    expect(template.Rules).toHaveProperty('ExampleSettingsRefused');
  }, 180_000);
});
