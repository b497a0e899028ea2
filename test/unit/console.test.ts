/**
 * The console function: its page and assets with the right types and the security headers on every
 * answer (404s included), gzip when accepted, and a page that is safe by construction: no inline
 * script or style, nothing from another origin, a script that parses and never writes markup from
 * text. The served script is the current bundle of functions/console/browser/ (build/console-assets.ts).
 * What the page does in a browser is test/integration/console-browser.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from '@jest/globals';
import {
  bundleConsoleScript,
  type ConsoleScriptBundle,
  GENERATED_SCRIPT_MODULE,
  generatedScriptModule,
} from '../../build/console-assets';
import { CONSOLE_PAGE } from '../../functions/console/assets/page';
import { CONSOLE_SCRIPT } from '../../functions/console/assets/script.generated';
import { CONSOLE_STYLE } from '../../functions/console/assets/style';
import {
  acceptsGzip,
  CONSOLE_CONTENT_SECURITY_POLICY,
  createConsoleHandler,
} from '../../functions/console/handler';
import type { HttpResult } from '../../src/platform/http/api-gateway';
import { silent } from '../../src/platform/observability/logger';
import { callHandler } from '../support/app';

const handler = createConsoleHandler({ observability: silent });
const get = (url: string, headers: Record<string, string> = {}) =>
  callHandler(handler, { method: 'GET', url, headers });

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const bodyOf = (result: HttpResult) =>
  result.isBase64Encoded
    ? gunzipSync(Buffer.from(result.body ?? '', 'base64')).toString('utf8')
    : (result.body ?? '');

describe('console handler', () => {
  it.each([
    ['/console', 'text/html; charset=utf-8', CONSOLE_PAGE],
    ['/console/app.js', 'text/javascript; charset=utf-8', CONSOLE_SCRIPT],
    ['/console/app.css', 'text/css; charset=utf-8', CONSOLE_STYLE],
  ])('serves %s as %s with the security headers and no caching', async (url, type, text) => {
    const result = await get(url);
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ ...SECURITY_HEADERS, 'content-type': type });
    expect(result.headers?.['content-encoding']).toBeUndefined();
    expect(result.body).toBe(text);
  });

  it('states exactly the Content-Security-Policy of the issue', () => {
    expect(CONSOLE_CONTENT_SECURITY_POLICY).toBe(SECURITY_HEADERS['content-security-policy']);
  });

  it.each(['favicon.ico', 'app.ts', '__proto__', 'constructor', 'APP.JS', '..'])(
    'answers an unknown asset (%s) 404, with the same headers',
    async (name) => {
      const result = await get(`/console/${encodeURIComponent(name)}`);
      expect(result.statusCode).toBe(404);
      expect(result.headers).toMatchObject(SECURITY_HEADERS);
      expect(result.headers).toMatchObject({ 'x-crosswalk-error': 'NotFoundError' });
      expect(JSON.parse(result.body ?? '')).toEqual({ error: expect.stringMatching(/^No console asset /) });
    },
  );

  it('gzips for clients that accept it, and the bytes unzip to the same text', async () => {
    for (const url of ['/console', '/console/app.js', '/console/app.css']) {
      const plain = await get(url);
      const zipped = await get(url, { 'accept-encoding': 'gzip, deflate, br' });
      expect(zipped.headers).toMatchObject({ ...SECURITY_HEADERS, 'content-encoding': 'gzip' });
      expect(zipped.headers?.vary).toBe('accept-encoding');
      expect(zipped.isBase64Encoded).toBe(true);
      expect(bodyOf(zipped)).toBe(plain.body);
    }
  });

  it('reads accept-encoding as HTTP does: q=0 refuses gzip', () => {
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('br;q=1.0, GZIP;q=0.5')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });

  it('answers the sample event of events/console.json with the page', async () => {
    const event = JSON.parse(readFileSync('events/console.json', 'utf8'));
    const result = await handler(event, { awsRequestId: 'console-test' } as never);
    expect(result.statusCode).toBe(200);
    expect(result.body).toBe(CONSOLE_PAGE);
  });

  it('stays small: page, script and style together under 12 KB gzipped (what a browser transfers)', async () => {
    let gzipped = 0;
    let plain = 0;
    for (const url of ['/console', '/console/app.js', '/console/app.css']) {
      gzipped += Buffer.from((await get(url, { 'accept-encoding': 'gzip' })).body ?? '', 'base64').length;
      plain += Buffer.byteLength((await get(url)).body ?? '');
    }
    expect(plain).toBeLessThan(48 * 1024);
    expect(gzipped).toBeLessThan(12 * 1024);
  });
});

const BROWSER_DIR = 'functions/console/browser';
/** The console's own browser sources (the type declarations aside). */
const BROWSER_SOURCES = readdirSync(BROWSER_DIR)
  .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
  .map((name) => ({ name, text: readFileSync(join(BROWSER_DIR, name), 'utf8') }));

describe('console script, built from functions/console/browser/', () => {
  let bundle: ConsoleScriptBundle;
  beforeAll(async () => {
    bundle = await bundleConsoleScript();
  });

  it('serves the bundle of the sources as they are now (npm run build:console when this fails)', () => {
    // A verdict rather than the two texts: a diff of two minified one-line scripts says nothing.
    const current = (same: boolean) => (same ? 'current' : 'stale: run npm run build:console');
    expect(
      current(readFileSync(GENERATED_SCRIPT_MODULE, 'utf8') === generatedScriptModule(bundle.text)),
    ).toBe('current');
    expect(current(CONSOLE_SCRIPT === bundle.text)).toBe('current');
  });

  it('bundles only its own files and the one identifier normalisation of the program', () => {
    expect(BROWSER_SOURCES.map((s) => s.name)).toContain('app.ts');
    const own = bundle.inputs.filter((input) => input.startsWith(`${BROWSER_DIR}/`));
    expect(own.sort()).toEqual(BROWSER_SOURCES.map((s) => `${BROWSER_DIR}/${s.name}`).sort());
    expect(bundle.inputs.filter((input) => !own.includes(input))).toEqual([
      expect.stringMatching(/\/identity\/identifiers\.ts$/),
    ]);
  });

  it('carries nothing of Node into the browser', () => {
    // identifiers.ts counts bytes with Buffer in a function the console does not call (tree-shaken).
    expect(CONSOLE_SCRIPT).not.toMatch(/\b(?:Buffer|process|require|global)\b|node:/);
    // One file: no dynamic import (a static one would fail the parse as a classic script, below).
    expect(CONSOLE_SCRIPT).not.toMatch(/\bimport\s*\(/);
  });

  it("normalises the looked-up identifier with the program's own normalizeIdentifier, not a copy", () => {
    const app = BROWSER_SOURCES.find((s) => s.name === 'app.ts')!.text;
    expect(app).toMatch(/import \{[^}]*\bnormalizeIdentifier\b[^}]*\} from '[^']*\/identity\/identifiers'/);
    for (const source of BROWSER_SOURCES) expect(source.text).not.toMatch(/toLowerCase|replace\(\/\\D/);
  });

  it('asks the page only for elements it has (by id)', () => {
    const app = BROWSER_SOURCES.find((s) => s.name === 'app.ts')!.text;
    const wanted = [...app.matchAll(/byId\('([^']+)'/g)].map((m) => m[1]);
    expect(wanted.length).toBeGreaterThan(10);
    expect(wanted.filter((id) => !CONSOLE_PAGE.includes(` id="${id}"`))).toEqual([]);
  });
});

describe('console page, safe by construction', () => {
  it('loads only its own script and style, by relative URL, with no inline code or style', () => {
    const scripts = [...CONSOLE_PAGE.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map(([, attributes, body]) => ({ attributes: attributes!.trim(), body }))).toEqual([
      { attributes: 'type="module" src="console/app.js"', body: '' },
    ]);
    expect(CONSOLE_PAGE).not.toMatch(/<style\b/i);
    expect(CONSOLE_PAGE).not.toMatch(/\sstyle=/i);
    expect(CONSOLE_PAGE).not.toMatch(/\son[a-z]+=/i);
    const urls = [...CONSOLE_PAGE.matchAll(/\s(?:src|href|action)="([^"]*)"/g)].map((m) => m[1]);
    expect(urls).toEqual(['data:,', 'console/app.css', 'console/app.js']);
  });

  // Each check reads the sources and the served bundle both: what is written and what is shipped.
  const scripts = [...BROWSER_SOURCES, { name: 'app.js (served)', text: CONSOLE_SCRIPT }];

  it('has a script that parses, and builds every text with textContent, never markup', () => {
    expect(() => new Script(CONSOLE_SCRIPT, { filename: 'app.js' })).not.toThrow();
    for (const { name, text } of scripts) {
      expect({
        name,
        markup: text.match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/g),
      }).toEqual({ name, markup: null });
      // No style attribute either: the CSP's style-src 'self' would refuse it.
      expect({ name, style: text.match(/setAttribute\(['"]style['"]|\.style\b/g) }).toEqual({
        name,
        style: null,
      });
    }
    expect(CONSOLE_STYLE).not.toMatch(/@import|url\(/);
  });

  it('keeps the key in sessionStorage only, and looks people up in a body, never a URL', () => {
    for (const { name, text } of scripts) {
      expect({ name, found: text.match(/localStorage|document\.cookie|console\.log/g) }).toEqual({
        name,
        found: null,
      });
    }
    // The one identities URL is the body route's; no identifier is ever appended to a path.
    expect(CONSOLE_SCRIPT.match(/v1\/identities\/[^"'`]*/g)).toEqual(['v1/identities/lookup']);
    const app = BROWSER_SOURCES.find((s) => s.name === 'app.ts')!.text;
    expect(app).toContain('post(LOOKUP_PATH, { type, value })');
  });

  it('asks the real decide route for the identity block, with no decision events', () => {
    expect(CONSOLE_SCRIPT).toContain('"v1/decide?includeIdentity=true"');
    expect(CONSOLE_SCRIPT).toContain('["READ_ONLY","DISABLE_DECISION_EVENT","INCLUDE_REASONS"]');
  });
});
