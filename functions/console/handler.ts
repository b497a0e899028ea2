/**
 * GET /console and GET /console/{asset}: the identity console, a static page whose script asks the
 * identities and decide routes, with the operator key the person enters, for everything it shows.
 * The function holds no data and no secret, and reads neither.
 *
 * How the files reach Lambda: each is a TypeScript module exporting its text (assets/*.ts), so the
 * bundle esbuild makes of this entry carries them like any other import, and `npm start`, `npm run
 * invoke` and the tests (tsx, Jest) import the very same modules. The alternatives each break one of
 * those: real .html/.js/.css files imported through esbuild's text loader exist only in bundles
 * (tsx and Jest cannot import them, so local runs would need a second way to read them), and files
 * read from disk at run time would have to be copied next to each bundle by a bundling hook. The
 * script is written in TypeScript (browser/, type-checked against the DOM) and its bundle is
 * generated into assets/script.generated.ts by build/console-assets.ts.
 *
 * Every answer, a 404 included, carries the security headers: a strict Content-Security-Policy (only
 * this origin's script, style and API; no inline code; no framing; no form posts), no caching, no
 * content sniffing, no referrer. Text is gzipped once per container for clients that accept it.
 */
import { gzipSync } from 'node:zlib';
import { NotFoundError } from '../../src/platform/core/errors';
import type { HttpEvent, HttpResult } from '../../src/platform/http/api-gateway';
import { httpHandler, type LambdaHttpHandler } from '../../src/platform/http/http-handler';
import { routeOperations } from '../../src/platform/http/operations';
import { withResponseHeaders } from '../../src/platform/http/response-headers';
import type { Observability } from '../../src/platform/observability/logger';
import { CONSOLE_PAGE } from './assets/page';
import { CONSOLE_SCRIPT } from './assets/script.generated';
import { CONSOLE_STYLE } from './assets/style';

export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CONTENT_SECURITY_POLICY,
  // The page shows personal data once its script has run; nothing of it may be kept by a cache.
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // frame-ancestors, for browsers that predate it.
  'x-frame-options': 'DENY',
};

interface Asset {
  contentType: string;
  text: string;
  /** Base64 of the gzipped text: API Gateway turns base64 bodies back into bytes. */
  gzipped: string;
}

function asset(contentType: string, text: string): Asset {
  return { contentType, text, gzipped: gzipSync(text, { level: 9 }).toString('base64') };
}

/** True when `accept-encoding` allows gzip (a `q=0` refuses it). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  return (acceptEncoding ?? '').split(',').some((part) => {
    const [coding, ...parameters] = part.split(';').map((p) => p.trim().toLowerCase());
    if (coding !== 'gzip') return false;
    const quality = parameters.find((p) => p.startsWith('q='));
    return quality === undefined || Number(quality.slice(2)) > 0;
  });
}

function serve(event: HttpEvent, file: Asset): HttpResult {
  const headers = { 'content-type': file.contentType, vary: 'accept-encoding' };
  if (!acceptsGzip(event.headers?.['accept-encoding'])) return { statusCode: 200, headers, body: file.text };
  return {
    statusCode: 200,
    headers: { ...headers, 'content-encoding': 'gzip' },
    body: file.gzipped,
    isBase64Encoded: true,
  };
}

export function createConsoleHandler(deps: { observability: Observability }): LambdaHttpHandler {
  const page = asset('text/html; charset=utf-8', CONSOLE_PAGE);
  const assets = new Map<string, Asset>([
    ['app.js', asset('text/javascript; charset=utf-8', CONSOLE_SCRIPT)],
    ['app.css', asset('text/css; charset=utf-8', CONSOLE_STYLE)],
  ]);
  return withResponseHeaders(
    httpHandler(
      routeOperations('console', {
        page: async (event) => serve(event, page),
        asset: async (event) => {
          const name = event.pathParameters?.asset ?? '';
          const file = assets.get(name);
          if (!file) throw new NotFoundError(`No console asset ${JSON.stringify(name)}`);
          return serve(event, file);
        },
      }),
      deps.observability,
    ),
    CONSOLE_HEADERS,
  );
}
