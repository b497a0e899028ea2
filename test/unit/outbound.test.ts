/** The outbound HTTP client (event API, datafile CDN) against a loopback server. */
import { createServer, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { outboundFetch } from '../../src/platform/http/outbound';

let server: Server;
let base: string;
const received: { method: string; body: string; encoding: string | undefined }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
        encoding: req.headers['accept-encoding'],
      });
      if (req.url === '/gzip') {
        res.writeHead(200, { 'content-encoding': 'gzip', etag: '"v7"', 'content-type': 'application/json' });
        res.end(gzipSync('{"revision":"7"}'));
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 2_000);
      } else {
        res.writeHead(503);
        res.end('busy');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('outboundFetch', () => {
  it('asks for gzip, decodes it, and exposes status and headers', async () => {
    const response = await outboundFetch(`${base}/gzip`);
    expect(response.status).toBe(200);
    expect(response.ok).toBe(true);
    expect(response.headers.get('ETag')).toBe('"v7"');
    expect(response.headers.get('x-missing')).toBeNull();
    expect(JSON.parse(await response.text())).toEqual({ revision: '7' });
    expect(received.at(-1)?.encoding).toBe('gzip');
  });

  it('sends a POST body and resolves with a non-2xx status rather than rejecting', async () => {
    const response = await outboundFetch(`${base}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"visitors":[]}',
    });
    expect(response.status).toBe(503);
    expect(response.ok).toBe(false);
    expect(received.at(-1)).toMatchObject({ method: 'POST', body: '{"visitors":[]}' });
  });

  it('counts timeoutMs from the socket, so a request queued behind slow ones is not timed out unsent', async () => {
    // The agent's 32 sockets are all busy for 2 s; a 33rd request waits for one, then answers at once.
    const slow = Array.from({ length: 32 }, () => outboundFetch(`${base}/slow`, { timeoutMs: 5_000 }));
    const queued = outboundFetch(`${base}/gzip`, { timeoutMs: 500 });
    expect((await queued).status).toBe(200);
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual(slow.map(() => 200));
    // A slow answer itself is cut at timeoutMs.
    await expect(outboundFetch(`${base}/slow`, { timeoutMs: 100 })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
  });

  it('rejects when the signal aborts, and for protocols it does not speak', async () => {
    await expect(outboundFetch(`${base}/slow`, { signal: AbortSignal.timeout(50) })).rejects.toThrow();
    await expect(outboundFetch('ftp://127.0.0.1/x')).rejects.toThrow(/Unsupported URL protocol/);
  });
});
