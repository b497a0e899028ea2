/**
 * A loopback stand-in for Optimizely's two endpoints Crosswalk calls: the event API (POST, answers
 * 204 at once, counts visitors) and the datafile CDN (GET /datafiles/<sdkKey>.json). The benchmark
 * points OPTIMIZELY_EVENT_ENDPOINT and OPTIMIZELY_DATAFILE_URL_TEMPLATE here, so nothing it runs
 * leaves the machine.
 */
import { createServer, type Server } from 'node:http';

export interface FakeOptimizely {
  eventEndpoint: string;
  datafileUrlTemplate: string;
  /** Event batches and visitors received so far. */
  received(): { batches: number; visitors: number };
  close(): Promise<void>;
}

export async function startFakeOptimizely(datafiles: Record<string, string>): Promise<FakeOptimizely> {
  let batches = 0;
  let visitors = 0;
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/v1/events') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { visitors?: unknown[] };
          batches++;
          visitors += body.visitors?.length ?? 0;
          res.statusCode = 204;
        } catch {
          res.statusCode = 400;
        }
        res.end();
      });
      return;
    }
    const match = /^\/datafiles\/([^/]+)\.json$/.exec(req.url ?? '');
    const datafile = match ? datafiles[decodeURIComponent(match[1] ?? '')] : undefined;
    if (req.method === 'GET' && datafile) {
      res.setHeader('content-type', 'application/json');
      res.end(datafile);
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const base = `http://127.0.0.1:${port}`;
  return {
    eventEndpoint: `${base}/v1/events`,
    datafileUrlTemplate: `${base}/datafiles/%s.json`,
    received: () => ({ batches, visitors }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
