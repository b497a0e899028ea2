/**
 * A loopback stand-in for Optimizely's edges: POST /v1/events records event batches (logx), and
 * GET /datafiles/<sdkKey>.json serves datafiles (the CDN), 403 for unknown keys as the CDN does.
 */
import { createServer, type Server } from 'node:http';
import type { CapturedEvent } from './decisions';

export interface FakeOptimizely {
  url: string;
  events: CapturedEvent['body'][];
  datafiles: Map<string, string>;
  /** Status the event endpoint answers (200 unless a test makes it fail). */
  eventStatus: number;
  close(): Promise<void>;
}

export async function startFakeOptimizely(): Promise<FakeOptimizely> {
  const state = {
    events: [] as CapturedEvent['body'][],
    datafiles: new Map<string, string>(),
    eventStatus: 200,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      if (req.method === 'POST' && url === '/v1/events') {
        if (fake.eventStatus < 300) state.events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(fake.eventStatus).end();
        return;
      }
      const match = /^\/datafiles\/([^/]+)\.json$/.exec(url);
      const datafile = match ? state.datafiles.get(match[1] ?? '') : undefined;
      if (req.method === 'GET' && datafile) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(datafile);
        return;
      }
      res
        .writeHead(403, { 'content-type': 'application/xml' })
        .end('<Error><Code>AccessDenied</Code></Error>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const fake: FakeOptimizely = {
    url: `http://127.0.0.1:${port}`,
    events: state.events,
    datafiles: state.datafiles,
    eventStatus: 200,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}
