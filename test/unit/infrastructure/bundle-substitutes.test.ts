/**
 * The bundle substitutes under build/ that stand in for library or built-in modules in the function
 * bundles: they must behave as the modules they replace for every use the bundles make of them.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync as realGunzipSync, gzipSync as realGzipSync } from 'node:zlib';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpRequest } from '@smithy/core/protocols';
import { build } from 'esbuild';
import fc from 'fast-check';
import realMurmur from 'murmurhash';
import { createGunzip, gunzip, gunzipSync, gzipSync } from '../../../build/builtins/zlib';
import { Sha256 } from '../../../build/checksum';
import { InvokeStore } from '../../../build/lambda-invoke-store';
import murmur, { v3 } from '../../../build/murmurhash';
import { NodeHttpHandler } from '../../../build/node-http-handler';
import { v4 } from '../../../build/uuid';
import { bundleSubstitutes } from '../../../lib/constructs/crosswalk-function';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('build/checksum.ts Sha256', () => {
  it('digests as SHA-256, and keeps digesting after more updates', async () => {
    // Prepare
    const hash = new Sha256();
    // Act
    hash.update(new TextEncoder().encode('cross'));
    const first = await hash.digest();
    hash.update(new TextEncoder().encode('walk'));
    const second = await hash.digest();
    // Assess
    expect(hex(first)).toBe(createHash('sha256').update('cross').digest('hex'));
    expect(hex(second)).toBe(createHash('sha256').update('crosswalk').digest('hex'));
  });

  it('digests as HMAC-SHA-256 with a string or byte secret, and starts over on reset', async () => {
    const expected = createHmac('sha256', 'key').update('body').digest('hex');
    for (const secret of ['key', new TextEncoder().encode('key'), new TextEncoder().encode('key').buffer]) {
      const hmac = new Sha256(secret);
      hmac.update(new TextEncoder().encode('body'));
      expect(hex(await hmac.digest())).toBe(expected);
      expect(() => hmac.update(new Uint8Array([1]))).toThrow('update after the HMAC was digested');
      hmac.reset();
      hmac.update(new TextEncoder().encode('body'));
      expect(hex(await hmac.digest())).toBe(expected);
    }
  });

  it('hashes a view into a larger buffer by its own bytes only', async () => {
    const whole = new TextEncoder().encode('xxcrosswalkxx');
    const hash = new Sha256();
    hash.update(whole.subarray(2, 11));
    expect(hex(await hash.digest())).toBe(createHash('sha256').update('crosswalk').digest('hex'));
  });
});

describe('build/builtins/zlib.ts', () => {
  it('compresses and decompresses as node:zlib does, in every form the bundles use', async () => {
    const text = 'crosswalk '.repeat(50);
    expect(realGunzipSync(gzipSync(text)).toString()).toBe(text);
    expect(gunzipSync(realGzipSync(text)).toString()).toBe(text);
    const viaCallback = await new Promise<string>((resolve, reject) =>
      gunzip(realGzipSync(text), (error, out) => (error ? reject(error) : resolve(out.toString()))),
    );
    expect(viaCallback).toBe(text);
    const stream = createGunzip();
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => stream.on('end', resolve));
    stream.end(realGzipSync(text));
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe(text);
  });

  it('reports a corrupt input as node:zlib does', () => {
    expect(() => gunzipSync(Buffer.from('not gzip'))).toThrow(/incorrect header check/);
  });
});

describe('build/murmurhash.ts', () => {
  it('hashes every string as the murmurhash package does, with and without a seed', () => {
    for (const [key, seed] of [
      ['', undefined],
      ['', 1],
      ['a', 1],
      ['ab', 1],
      ['abc', 1],
      ['abcd', 1],
      ['user-123exp-456', 1],
      ['ümlaut 🚦', 42],
      ['\ud800 lone', 7],
    ] as const) {
      expect(v3(key, seed)).toBe(realMurmur.v3(key, seed));
    }
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 64 }),
        fc.option(fc.nat(), { nil: undefined }),
        (key, seed) => {
          expect(v3(key, seed)).toBe(realMurmur.v3(key, seed));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is the default export the SDK calls, and hashes bytes as the package does', () => {
    expect(murmur.v3('flag-user', 1)).toBe(realMurmur.v3('flag-user', 1));
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 252, 253]);
    expect(v3(bytes, 3)).toBe(realMurmur.v3(bytes, 3));
  });
});

describe('build/uuid.ts', () => {
  it('answers random version-4 UUIDs, and refuses options it does not bundle', () => {
    const ids = new Set(Array.from({ length: 100 }, () => v4()));
    expect(ids.size).toBe(100);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(() => v4({ random: new Uint8Array(16) })).toThrow('not bundled');
  });
});

describe('build/lambda-invoke-store.ts', () => {
  const global = globalThis as { awslambda?: { InvokeStore?: unknown } };
  afterAll(() => {
    delete global.awslambda;
    delete process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  });

  it("answers the runtime's store when one is registered, none otherwise", async () => {
    delete global.awslambda;
    expect(await InvokeStore.getInstanceAsync()).toBeUndefined();
    const store = { getXRayTraceId: () => 'Root=1-abc', getTraceparent: () => '00-abc-def-01' };
    global.awslambda = { InvokeStore: store };
    expect(await InvokeStore.getInstanceAsync()).toBe(store);
    process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA = 'true';
    expect(await InvokeStore.getInstanceAsync()).toBeUndefined();
  });
});

describe('build/node-http-handler.ts NodeHttpHandler', () => {
  type Answer = (request: IncomingMessage, body: string, response: ServerResponse) => void;
  let server: Server;
  let port: number;
  let answer: Answer;
  const received: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        received.push({ method: request.method, url: request.url, headers: request.headers, body });
        answer(request, body, response);
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });

  const request = (fields: Partial<HttpRequest> = {}) =>
    new HttpRequest({ protocol: 'http:', hostname: '127.0.0.1', port, method: 'GET', path: '/', ...fields });
  const text = async (body: AsyncIterable<Buffer>) => {
    let out = '';
    for await (const chunk of body) out += chunk.toString('utf8');
    return out;
  };

  it('sends method, path, query, headers and body, and answers status, joined headers and the body stream', async () => {
    answer = (_request, body, response) => {
      response.setHeader('set-cookie', ['a=1', 'b=2']);
      response.writeHead(201, 'Made');
      response.end(`echo:${body}`);
    };
    const handler = new NodeHttpHandler({ requestTimeout: 1_000 });
    const { response } = await handler.handle(
      request({
        method: 'POST',
        path: '/things',
        query: { a: '1', b: ['2', '3'] },
        headers: { 'x-one': '1', 'content-type': 'text/plain' },
        body: new TextEncoder().encode('hello'),
      }),
    );
    expect(response.statusCode).toBe(201);
    expect(response.reason).toBe('Made');
    expect(response.headers['set-cookie']).toBe('a=1,b=2');
    expect(await text(response.body)).toBe('echo:hello');
    expect(received.at(-1)).toMatchObject({ method: 'POST', url: '/things?a=1&b=2&b=3', body: 'hello' });
    expect(received.at(-1)?.headers['x-one']).toBe('1');
    handler.destroy();
  });

  it('carries a DynamoDB call of the real client: request signed and sent, JSON answer read', async () => {
    answer = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify({ Item: { pk: { S: 'P#1' }, n: { N: '7' } } }));
    };
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      requestHandler: new NodeHttpHandler({
        connectionTimeout: 1_000,
        requestTimeout: 2_000,
        throwOnRequestTimeout: true,
      }),
    });
    const out = await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'P#1' } } }));
    expect(out.Item).toEqual({ pk: { S: 'P#1' }, n: { N: '7' } });
    const sent = received.at(-1)!;
    expect(sent.headers['x-amz-target']).toBe('DynamoDB_20120810.GetItem');
    expect(sent.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=local\//);
    expect(JSON.parse(sent.body)).toEqual({ TableName: 't', Key: { pk: { S: 'P#1' } } });
    client.destroy();
  });

  it('fails a request with no answer within requestTimeout as a TimeoutError when asked to, else only warns', async () => {
    let release: (() => void) | undefined;
    answer = (_request, _body, response) => {
      release = () => response.end('late');
    };
    const throwing = new NodeHttpHandler({ requestTimeout: 50, throwOnRequestTimeout: true });
    await expect(throwing.handle(request())).rejects.toMatchObject({
      name: 'TimeoutError',
      code: 'ETIMEDOUT',
      message: expect.stringContaining('exceeded the configured 50 ms requestTimeout'),
    });
    const warnings: string[] = [];
    const warning = new NodeHttpHandler({
      requestTimeout: 50,
      logger: { warn: (m: string) => warnings.push(m) } as never,
    });
    const pending = warning.handle(request());
    await new Promise((done) => setTimeout(done, 150));
    release?.();
    const { response } = await pending;
    expect(await text(response.body)).toBe('late');
    expect(warnings).toEqual([
      expect.stringContaining('[WARN] a request has exceeded the configured 50 ms requestTimeout'),
    ]);
    throwing.destroy();
    warning.destroy();
  });

  it('fails on a socket silent for socketTimeout, and takes the default one the client hands over', async () => {
    answer = () => undefined;
    const configured = new NodeHttpHandler({ socketTimeout: 50 });
    await expect(configured.handle(request())).rejects.toMatchObject({
      name: 'TimeoutError',
      message: expect.stringContaining('after 50 ms of inactivity (configured by client requestHandler)'),
    });
    const byDefault = new NodeHttpHandler({});
    byDefault.updateHttpClientConfig(Symbol.for('@smithy/defaultSocketTimeout') as never, 50 as never);
    await expect(byDefault.handle(request())).rejects.toThrow('(service default socket timeout)');
    expect(byDefault.httpHandlerConfigs()).toMatchObject({ defaultSocketTimeout: 50 });
    configured.destroy();
    byDefault.destroy();
  });

  it('stops at its abort signal, already aborted or aborted while waiting, with the reason as cause', async () => {
    answer = () => undefined;
    const handler = new NodeHttpHandler({});
    const reason = new Error('deadline');
    await expect(handler.handle(request(), { abortSignal: AbortSignal.abort(reason) })).rejects.toMatchObject(
      {
        name: 'AbortError',
        message: 'Request aborted',
        cause: reason,
      },
    );
    const controller = new AbortController();
    const pending = handler.handle(request(), { abortSignal: controller.signal });
    setTimeout(() => controller.abort('gone'), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', message: 'gone' });
    handler.destroy();
  });

  it('takes its settings from a provider, and an instance given to create as it is', async () => {
    answer = (_request, _body, response) => response.end('ok');
    const handler = NodeHttpHandler.create(async () => ({ requestTimeout: 1_000 }));
    expect(NodeHttpHandler.create(handler)).toBe(handler);
    const { response } = await handler.handle(request());
    expect(await text(response.body)).toBe('ok');
    expect(handler.httpHandlerConfigs()).toMatchObject({ requestTimeout: 1_000 });
    handler.destroy();
  });
});

describe('build/retry.ts, bundled as the functions bundle it', () => {
  let dir: string;
  let retry: { strategy: (mode?: string) => Promise<{ name: string; maxAttempts: number }> };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crosswalk-retry-'));
    const root = resolve(import.meta.dirname, '..', '..', '..');
    const entry = join(dir, 'entry.ts');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      entry,
      `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
export async function strategy(retryMode) {
  const client = new DynamoDBClient({ region: 'local', endpoint: 'http://127.0.0.1:9', maxAttempts: 3, retryMode,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const chosen = await client.config.retryStrategy();
  return { name: chosen.constructor.name, maxAttempts: await client.config.maxAttempts() };
}`,
    );
    await build({
      entryPoints: [entry],
      outfile: join(dir, 'entry.mjs'),
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node24',
      mainFields: ['module', 'main'],
      nodePaths: [join(root, 'node_modules')],
      absWorkingDir: root,
      alias: bundleSubstitutes({ root }),
      banner: {
        js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);",
      },
      logLevel: 'error',
    });
    retry = await import(pathToFileURL(join(dir, 'entry.mjs')).href);
  }, 30_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps the SDK's standard retry strategy and its attempts", async () => {
    const { StandardRetryStrategy } = await import('@smithy/core/retry');
    expect(await retry.strategy()).toEqual({ name: StandardRetryStrategy.name, maxAttempts: 3 });
    expect(await retry.strategy('standard')).toEqual({ name: StandardRetryStrategy.name, maxAttempts: 3 });
  });

  it('refuses the adaptive mode it leaves out, loudly', async () => {
    await expect(retry.strategy('adaptive')).rejects.toThrow('adaptive retry mode is not bundled');
  });
});
