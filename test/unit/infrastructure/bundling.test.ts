/**
 * The house construct's real bundling, on three functions only (so it stays quick): the
 * asset is one ESM `index.mjs` with a source map, carries the `require` banner, bundles the AWS SDK
 * instead of importing it from the runtime, takes the aliased Node built-ins without ES module
 * imports, and loads and answers in a fresh module graph.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CrosswalkStack } from '../../../lib/crosswalk-stack';
import { readSettings } from '../../../lib/settings';
import { functionSpecs } from '../../../src/platform/routes';

const projectRoot = resolve(import.meta.dirname, '..', '..', '..');
let outdir: string;
let assets: Record<string, string>;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'crosswalk-bundling-'));
  // The CLI turns asset metadata on (SAM and the benchmarks find bundles through it); so do we.
  const app = new App({
    outdir,
    context: { 'aws:cdk:enable-asset-metadata': true, OPTIMIZELY_SDK_KEYS: '*' },
  });
  // CDK announces each bundling on stderr; the test's output stays quiet.
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    String(chunk).startsWith('Bundling asset')
      ? true
      : write.call(process.stderr, chunk, ...rest)) as typeof write;
  let functions: Record<string, unknown>;
  try {
    const stack = new CrosswalkStack(app, 'Crosswalk', {
      settings: readSettings(app.node, {}),
      projectRoot,
      functionSpecs: {
        health: functionSpecs.health,
        'identity-lookup': functionSpecs['identity-lookup'],
        console: functionSpecs.console,
      },
      routes: [],
    });
    functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  } finally {
    process.stderr.write = write;
  }
  assets = Object.fromEntries(
    Object.entries(functions).map(([id, r]) => [
      id,
      join(outdir, (r as { Metadata: Record<string, string> }).Metadata['aws:asset:path']!),
    ]),
  );
}, 60_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('CrosswalkFunction bundling', () => {
  it('writes one minified ESM index.mjs with a source map per function', () => {
    for (const dir of Object.values(assets)) {
      expect(existsSync(join(dir, 'index.mjs'))).toBe(true);
      expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(
        code.startsWith(
          "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);",
        ),
      ).toBe(true);
      expect(code).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
    }
  });

  it('bundles the AWS SDK v3 instead of importing it from the runtime', () => {
    const code = readFileSync(join(assets.IdentitiesFunction!, 'index.mjs'), 'utf8');
    expect(code).not.toMatch(/from\s*"@aws-sdk\//);
    // (An SDK error message quotes `[require("@aws-sdk/signature-v4-crt")]`; that is text, not a call.)
    expect(code).not.toMatch(/[^[]require\("@aws-sdk\//);
    expect(code).toContain('BatchGetItem');
  });

  it("bundles only the environment credential provider, not the SDK's default chain", () => {
    const code = readFileSync(join(assets.IdentitiesFunction!, 'index.mjs'), 'utf8');
    // The env provider's variable names are there; the chain's SSO and ini providers are not.
    expect(code).toContain('AWS_SECRET_ACCESS_KEY');
    expect(code).not.toContain('defaultProvider::fromSSO');
    expect(code).not.toContain('defaultProvider::fromIni');
  });

  it('leaves out the Profile API read-through when the stack configures no Segment space', () => {
    const code = readFileSync(join(assets.IdentitiesFunction!, 'index.mjs'), 'utf8');
    expect(code).toContain('BatchGetItem');
    expect(code).not.toContain('profile api read-through');
    expect(code).toContain('synthesized without it');
  });

  it("leaves out DynamoDB endpoint discovery's cache, and refuses to turn discovery on", () => {
    const code = readFileSync(join(assets.IdentitiesFunction!, 'index.mjs'), 'utf8');
    expect(code).toContain('DynamoDB endpoint discovery is not bundled');
    // The endpoint cache's LRU (mnemonist) would say this on a bad capacity.
    expect(code).not.toContain('mnemonist/lru-cache');
  });

  it('takes http, https, process, crypto, fs, os and zlib through their shims, not ES module imports', () => {
    const code = readFileSync(join(assets.IdentitiesFunction!, 'index.mjs'), 'utf8');
    expect(code).toContain('getBuiltinModule("node:http")');
    expect(code).not.toMatch(
      /from\s*"(node:)?(http|https|process|crypto|fs|fs\/promises|os|async_hooks|zlib)"/,
    );
  });

  it("keeps the SDK's SHA-256 only (no pure-JS fallback) in a function without S3", () => {
    const code = readFileSync(join(assets.IdentitiesFunction!, 'index.mjs'), 'utf8');
    expect(code).toContain('Sha256: update after the HMAC was digested');
    // The JS fallback's round constants (0x428a2f98 = 1116352408) are not there.
    expect(code).not.toContain('1116352408');
  });

  it("takes the SDK's HTTP handler, retry settings and invocation store from build/ in a function without S3", () => {
    const code = readFileSync(join(assets.IdentitiesFunction!, 'index.mjs'), 'utf8');
    expect(code).toContain('adaptive retry mode is not bundled');
    // The original handler's periodic warning, and the invoke-store package's own store keys.
    expect(code).not.toContain('socket usage at capacity');
    expect(code).not.toContain('_AWS_LAMBDA_X_RAY_TRACE_ID');
  });

  it('leaves the route table out of function bundles (they dispatch on `routes` only)', () => {
    const code = readFileSync(join(assets.IdentitiesFunction!, 'index.mjs'), 'utf8');
    expect(code).toContain('/v1/identities/lookup');
    expect(code).not.toContain(functionSpecs.health.description);
  });

  it('loads the identity-lookup bundle, shims and all, as an ES module', async () => {
    // As in Lambda, the entry builds its dependencies at import, from the stack's environment.
    process.env.TABLE_NAME ??= 'bundling-test';
    const module = (await import(pathToFileURL(join(assets.IdentitiesFunction!, 'index.mjs')).href)) as {
      handler: unknown;
    };
    expect(typeof module.handler).toBe('function');
  });

  it('carries the console’s page, script and style inside its bundle, and serves them', async () => {
    process.env.TABLE_NAME ??= 'bundling-test';
    const module = (await import(pathToFileURL(join(assets.ConsoleFunction!, 'index.mjs')).href)) as {
      handler: (
        event: unknown,
        context: unknown,
      ) => Promise<{ statusCode: number; body: string; headers: Record<string, string> }>;
    };
    const event = JSON.parse(readFileSync(join(projectRoot, functionSpecs.console.sampleEvent), 'utf8'));
    const page = await module.handler(event, { awsRequestId: 'bundling-test', functionName: 'console' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<script type="module" src="console/app.js"></script>');
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'none'/);
    const script = await module.handler(
      { ...event, routeKey: 'GET /console/{asset}', pathParameters: { asset: 'app.js' } },
      { awsRequestId: 'bundling-test', functionName: 'console' },
    );
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toContain('"crosswalk.operatorKey"');
  });

  it('loads as an ES module and answers the sample event', async () => {
    process.env.TABLE_NAME ??= 'bundling-test';
    const module = (await import(pathToFileURL(join(assets.HealthFunction!, 'index.mjs')).href)) as {
      handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
    };
    const event = JSON.parse(readFileSync(join(projectRoot, functionSpecs.health.sampleEvent), 'utf8'));
    const result = await module.handler(event, { awsRequestId: 'bundling-test', functionName: 'health' });
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ status: 'ok' });
  });
});
