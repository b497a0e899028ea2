/** The loopback stand-ins' one HTTP server: a free port on 127.0.0.1, each request read whole and answered. */
import { createServer, type IncomingMessage } from 'node:http';
import type { LocalAnswer } from './server';

export interface LoopbackServer {
  url: string;
  close(): Promise<void>;
}

export async function serveOnLoopback(
  answer: (request: { req: IncomingMessage; url: URL; body: string }) => Promise<LocalAnswer> | LocalAnswer,
): Promise<LoopbackServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = Buffer.concat(chunks).toString('utf8');
      Promise.resolve()
        .then(() => answer({ req, url, body }))
        .then(
          (a) => {
            res.writeHead(a.status, a.headers ?? {});
            res.end(a.body ?? '');
          },
          () => res.writeHead(500).end(),
        );
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
