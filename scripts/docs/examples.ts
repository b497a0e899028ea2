/**
 * The docs' shell examples, run for real: every ```sh block of a doc that is followed by an
 * `<!-- example-output -->` marker is executed with bash (curl, openssl) against a Crosswalk
 * configured as `npm start` configures it, after the demo story (`npm run demo`). The output is
 * pretty-printed into the ```json block under the marker. `npm run docs:examples` rewrites the
 * outputs; a test checks that each doc still says what its commands really answer.
 *
 * A marker may limit what is shown: `<!-- example-output lines=12 -->` keeps the first 12 lines.
 */
import { spawn } from 'node:child_process';

/** The address the docs' commands use: npm start's default. */
export const DOCS_BASE_URL = 'http://127.0.0.1:3000';

const BLOCK = /```sh\n([\s\S]*?)```\n<!-- example-output(?: lines=(\d+))? -->\n(?:```json\n[\s\S]*?```\n)?/g;

export interface Example {
  command: string;
  lines?: number;
  /** Offsets of the whole block (command, marker and any output) in the doc. */
  start: number;
  end: number;
}

export function examplesOf(doc: string): Example[] {
  return [...doc.matchAll(BLOCK)].map((m) => ({
    command: m[1]!,
    ...(m[2] ? { lines: Number(m[2]) } : {}),
    start: m.index!,
    end: m.index! + m[0].length,
  }));
}

/** Runs one example's commands with bash, pointed at `baseUrl` instead of npm start's address. */
export function runExample(command: string, baseUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', command.replaceAll(DOCS_BASE_URL, baseUrl)], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`example exited ${code}: ${err}\n${command}`)),
    );
  });
}

/** The output as the doc shows it: pretty JSON (or the text as is), cut to `lines` when asked. */
export function shownOutput(raw: string, lines?: number): string {
  let text = raw.trim();
  try {
    text = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON: shown as is
  }
  if (lines !== undefined) {
    const all = text.split('\n');
    if (all.length > lines) text = `${all.slice(0, lines).join('\n')}\n…`;
  }
  return text;
}

/** What may differ between two runs of the same example: times, generated ids. */
export function stable(text: string): string {
  return text
    .replace(/"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"/g, '"<time>"')
    .replace(/"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"/g, '"<uuid>"');
}

/** The doc with each example's output replaced by `outputs[i]`. */
export function withOutputs(doc: string, examples: Example[], outputs: string[]): string {
  let out = '';
  let at = 0;
  examples.forEach((example, i) => {
    out += doc.slice(at, example.start);
    const marker = `<!-- example-output${example.lines ? ` lines=${example.lines}` : ''} -->`;
    out += `\`\`\`sh\n${example.command}\`\`\`\n${marker}\n\`\`\`json\n${outputs[i]}\n\`\`\`\n`;
    at = example.end;
  });
  return out + doc.slice(at);
}
